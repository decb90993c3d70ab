/**
 * The panel's header: this host's target and what runs here, the install
 * root and its free space, and the mirrors with their trust state.
 */
import { TranslationBundle } from '@jupyterlab/translation';
import * as React from 'react';

import { IHost, IKey, IMirror, IMirrorPreset } from '../api';
import { mirrorBadge } from '../model/builds';
import { IFirstRunState } from '../model/firstrun';
import { humanBytes, targetsSummary } from '../model/format';
import { IRemote } from '../model/spack';
import { ActionButton, ErrorLine, Muted } from './common';
import { FirstRunCard } from './FirstRunCard';

export function HostView(props: {
  host: IRemote<IHost>;
  mirrors: IRemote<IMirror[]>;
  keys: IRemote<IKey[]>;
  onAddMirror?: () => void;
  /** The first-run card: its progress and its actions (no card without them). */
  firstRun?: IFirstRunState;
  onDemo?: () => void;
  onPreset?: (preset: IMirrorPreset) => void;
  onReviewKeys?: (mirror: string) => void;
  trans: TranslationBundle;
}): JSX.Element {
  const { host, mirrors, trans } = props;
  const h = host.value;
  return (
    <div className="jp-SpackPanel-host">
      {host.error && <ErrorLine error={host.error} />}
      {h === null && !host.error && (
        <Muted>{trans.__('Detecting this host…')}</Muted>
      )}
      {h !== null && (
        <>
          <div
            className="jp-SpackPanel-target"
            title={h.compatible_targets.join(', ')}
          >
            <strong>{h.target}</strong>
            {' — '}
            {trans.__(
              'binaries for %1 run here',
              targetsSummary(h.compatible_targets)
            )}
          </div>
          <div className="jp-SpackPanel-muted">
            {h.os}
            {h.libc && `, ${h.libc.name} ${h.libc.version}`}
          </div>
          <div className="jp-SpackPanel-root" title={h.install_root.path}>
            {trans.__(
              'Installs into %1 (%2 free)',
              h.install_root.path,
              humanBytes(h.install_root.free_bytes)
            )}
          </div>
        </>
      )}
      {mirrors.error && <ErrorLine error={mirrors.error} />}
      {mirrors.value !== null &&
        mirrors.value.length === 0 &&
        (props.firstRun && props.onDemo && props.onPreset ? (
          // the offers come with the host: no half card while it loads
          (h !== null || host.error !== null) && (
            <FirstRunCard
              firstRun={h?.first_run}
              mirrors={mirrors.value}
              userMirrors={h?.policy?.user_mirrors ?? true}
              state={props.firstRun}
              onDemo={props.onDemo}
              onPreset={props.onPreset}
              onEnterUrl={props.onAddMirror}
              trans={trans}
            />
          )
        ) : (
          <div className="jp-SpackPanel-firstRun">
            <Muted>{trans.__('No mirror configured yet.')}</Muted>
            {props.onAddMirror && (
              <ActionButton
                kind="accept"
                className="jp-SpackPanel-addMirrorAction"
                onClick={props.onAddMirror}
              >
                {trans.__('Add a mirror')}
              </ActionButton>
            )}
          </div>
        ))}
      {mirrors.value !== null && mirrors.value.length > 0 && (
        <ul
          className="jp-SpackPanel-mirrorChips"
          aria-label={trans.__('Mirrors')}
        >
          {mirrors.value.map(m => {
            const trust = mirrorBadge(m, trans);
            return (
              <li
                key={m.name}
                title={`${m.url} — ${trust.label}. ${trust.detail}`}
                data-mirror={m.name}
              >
                <span className="jp-SpackPanel-badge" data-state={trust.state}>
                  {m.name}
                </span>
              </li>
            );
          })}
        </ul>
      )}
      {props.onReviewKeys &&
        (mirrors.value ?? [])
          .filter(m => m.signed && m.trust?.state === 'untrusted')
          .map(m => (
            <div
              key={m.name}
              className="jp-SpackPanel-untrustedNote"
              data-mirror={m.name}
            >
              <span>
                {trans.__(
                  '%1: its key is not trusted yet, so nothing from it installs.',
                  m.name
                )}
              </span>
              <ActionButton
                kind="warn"
                className="jp-SpackPanel-hostReviewKeys"
                onClick={() => props.onReviewKeys?.(m.name)}
              >
                {trans.__('Review keys')}
              </ActionButton>
            </div>
          ))}
    </div>
  );
}
