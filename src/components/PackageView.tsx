/**
 * One package opened from the results: its builds (version, target, mirror),
 * and for the chosen build its compiler, variants, OS and dependencies.
 */
import { TranslationBundle } from '@jupyterlab/translation';
import { Button, HTMLSelect } from '@jupyterlab/ui-components';
import * as React from 'react';

import { IPackageGroup, ISpecDetail } from '../api';
import { shortSpec, variantsText } from '../model/format';
import { IRemote } from '../model/spack';
import { ErrorLine, Muted } from './common';

export function PackageView(props: {
  group: IPackageGroup;
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
            <option key={b.hash} value={b.hash}>
              {`${b.version} · ${b.target} · ${b.mirror} · /${b.hash.slice(0, 7)}`}
            </option>
          ))}
        </HTMLSelect>
      </label>
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
          <dd>
            {trans.__('shown in the plan, before anything is downloaded')}
          </dd>
          <dt>{trans.__('Mirror')}</dt>
          <dd>{d.mirror}</dd>
          <dt>{trans._n('%1 dependency', '%1 dependencies', deps.length)}</dt>
          <dd>
            <ul className="jp-SpackPanel-deps">
              {deps.map(n => (
                <li key={n.hash}>
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
      {d !== null && !d.compatible && (
        <ErrorLine
          error={{
            code: 'host',
            message: d.reason ?? trans.__('does not run on this host'),
            hint: null
          }}
        />
      )}
      <Button
        className="jp-SpackPanel-install"
        disabled={
          props.build === null ||
          props.installing ||
          (d !== null && !d.compatible)
        }
        onClick={props.onInstall}
        title={trans.__('Show what would be installed, then confirm')}
      >
        {trans.__('Install…')}
      </Button>
    </div>
  );
}
