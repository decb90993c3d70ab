/**
 * The panel's header: this host's target and what runs here, the install
 * root and its free space, and the mirrors with their trust state.
 */
import { TranslationBundle } from '@jupyterlab/translation';
import * as React from 'react';

import { IHost, IKey, IMirror } from '../api';
import { mirrorBadge } from '../model/builds';
import { humanBytes, targetsSummary } from '../model/format';
import { IRemote } from '../model/spack';
import { ActionButton, ErrorLine, Muted } from './common';

export function HostView(props: {
  host: IRemote<IHost>;
  mirrors: IRemote<IMirror[]>;
  keys: IRemote<IKey[]>;
  onAddMirror?: () => void;
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
      {mirrors.value !== null && mirrors.value.length === 0 && (
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
      )}
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
    </div>
  );
}
