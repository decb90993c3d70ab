/**
 * One package opened from the results: its builds (version, target, mirror),
 * and for the chosen build its compiler, variants, OS and dependencies.
 */
import { TranslationBundle } from '@jupyterlab/translation';
import { HTMLSelect } from '@jupyterlab/ui-components';
import * as React from 'react';

import { IBuild, IPackageGroup, ISpecDetail } from '../api';
import { bestBuild, buildDifferences } from '../model/builds';
import { humanBytes, shortSpec, variantsText } from '../model/format';
import { IRemote } from '../model/spack';
import { ActionButton, ErrorLine, Muted } from './common';

export function PackageView(props: {
  group: IPackageGroup;
  installed?: readonly { hash: string; name: string }[] | null;
  build: string | null;
  detail: IRemote<ISpecDetail>;
  onChoose: (hash: string) => void;
  onInstall: () => void;
  installing: boolean;
  trans: TranslationBundle;
}): JSX.Element {
  const { group, detail, trans } = props;
  const d = detail.value;
  const deps = d === null ? [] : d.nodes.filter(n => n.hash !== d.root.hash);
  const best = bestBuild(group);
  const chosen = group.builds.find(b => b.hash === props.build) ?? null;
  const isBest = chosen !== null && best !== null && chosen.hash === best.hash;
  const differences =
    chosen !== null && best !== null
      ? buildDifferences(chosen, best, trans)
      : [];
  const label = (b: IBuild): string => {
    const base = `${b.version} · ${b.target} · ${b.mirror} · /${b.hash.slice(0, 7)}`;
    return group.best === b.hash
      ? trans.__('%1 — best for this CPU', base)
      : base;
  };
  const notRunnable = d !== null && !d.compatible;
  const alreadyInstalled =
    chosen !== null &&
    (props.installed ?? []).some(r => r.hash === chosen.hash);
  const why = props.installing
    ? trans.__('Another install is running')
    : alreadyInstalled
      ? trans.__('This build is already installed (see Installed)')
      : notRunnable
        ? (d?.reason ?? trans.__('does not run on this host'))
        : props.build === null
          ? trans.__('Choose a build first')
          : null;
  return (
    <div
      className="jp-SpackPanel-package"
      aria-label={trans.__('Package %1', group.name)}
    >
      <label className="jp-SpackPanel-field">
        <span>{trans.__('Build')}</span>
        <HTMLSelect
          className="jp-SpackPanel-buildSelect"
          value={props.build ?? ''}
          onChange={e => props.onChoose(e.currentTarget.value)}
          aria-label={trans.__('Build to install')}
        >
          {group.builds.map(b => (
            <option key={b.hash} value={b.hash} title={b.hash}>
              {label(b)}
            </option>
          ))}
        </HTMLSelect>
      </label>
      {alreadyInstalled && (
        <div className="jp-SpackPanel-best" data-installed="true">
          <span className="jp-SpackPanel-badge" data-state="installed">
            {trans.__('installed')}
          </span>{' '}
          <Muted>
            {trans.__(
              'use it in a notebook with %%spack load %1',
              `${group.name}/${chosen!.hash.slice(0, 7)}`
            )}
          </Muted>
        </div>
      )}
      {chosen !== null && group.best === chosen.hash && (
        <div className="jp-SpackPanel-best" data-best="true">
          <span className="jp-SpackPanel-badge" data-state="trusted">
            {trans.__('best for this CPU')}
          </span>{' '}
          <Muted>
            {group.builds.length > 1
              ? trans.__(
                  'what `spackcache install %1` picks: newest version, closest target',
                  group.name
                )
              : trans.__('the only build that runs here')}
          </Muted>
        </div>
      )}
      {chosen !== null && !isBest && best !== null && (
        <div className="jp-SpackPanel-best" data-best="false">
          {trans.__('Differs from the best build: %1', differences.join(', '))}
          <button
            className="jp-SpackPanel-link jp-SpackPanel-useBest"
            onClick={() => props.onChoose(best.hash)}
          >
            {trans.__('use the best')}
          </button>
        </div>
      )}
      {detail.loading && <Muted>{trans.__('Loading details…')}</Muted>}
      {detail.error && <ErrorLine error={detail.error} />}
      {d !== null && (
        <dl className="jp-SpackPanel-facts">
          <dt>{trans.__('Version')}</dt>
          <dd>{d.root.version}</dd>
          <dt>{trans.__('Target')}</dt>
          <dd>{`${d.root.platform}-${d.root.os}-${d.root.target}`}</dd>
          <dt>{trans.__('Compiler')}</dt>
          <dd>{d.root.compiler ?? trans.__('not recorded')}</dd>
          <dt>{trans.__('Variants')}</dt>
          <dd>{variantsText(d.root.variants) || trans.__('none')}</dd>
          <dt>{trans.__('Size')}</dt>
          <dd className="jp-SpackPanel-downloadSize">
            {d.download_bytes === null || d.download_bytes === undefined
              ? trans.__('not known until the plan')
              : trans.__('%1 to download', humanBytes(d.download_bytes))}
          </dd>
          <dt>{trans.__('Mirror')}</dt>
          <dd>{d.mirror}</dd>
          <dt>{trans._n('%1 dependency', '%1 dependencies', deps.length)}</dt>
          <dd>
            <ul className="jp-SpackPanel-deps">
              {deps.map(n => (
                <li
                  key={n.hash}
                  className="jp-SpackPanel-cut"
                  title={`${n.name}@${n.version}/${n.hash}`}
                >
                  {shortSpec(n.name, n.version, n.hash)}
                  {n.external !== null && (
                    <span className="jp-SpackPanel-muted">
                      {' '}
                      {trans.__('(system, %1)', n.external)}
                    </span>
                  )}
                </li>
              ))}
            </ul>
          </dd>
        </dl>
      )}
      {notRunnable && d !== null && (
        <ErrorLine
          error={{
            code: 'host',
            message: d.reason ?? trans.__('does not run on this host'),
            hint: null
          }}
        />
      )}
      <div className="jp-SpackPanel-actions">
        <ActionButton
          kind="accept"
          className="jp-SpackPanel-install"
          disabled={why !== null}
          why={why}
          onClick={props.onInstall}
          title={trans.__('Show what would be installed, then confirm')}
        >
          {trans.__('Install…')}
        </ActionButton>
      </div>
    </div>
  );
}
