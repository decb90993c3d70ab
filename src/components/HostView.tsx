/**
 * The panel's header: this host's target and what runs here, the install
 * root and its free space, and the mirrors with their trust state.
 */
import { TranslationBundle } from '@jupyterlab/translation';
import * as React from 'react';

import { IHost, IKey, IMirror } from '../api';
import { humanBytes, targetsSummary } from '../model/format';
import { IRemote } from '../model/spack';
import { ErrorLine, Muted } from './common';

/** How far a mirror's packages are checked, in words and as a badge state. */
export function mirrorTrust(
  mirror: IMirror,
  keys: IKey[] | null,
  trans: TranslationBundle
): { label: string; state: 'trusted' | 'untrusted' | 'unsigned' } {
  if (!mirror.signed) {
    return { label: trans.__('unsigned: not verified'), state: 'unsigned' };
  }
  const trusted = new Set((keys ?? []).map(k => k.fingerprint));
  const pinned = mirror.pinned_keys;
  const ok =
    pinned.length > 0 ? pinned.some(f => trusted.has(f)) : trusted.size > 0;
  return ok
    ? { label: trans.__('signed, key trusted'), state: 'trusted' }
    : { label: trans.__('signed, no trusted key yet'), state: 'untrusted' };
}

export function HostView(props: {
  host: IRemote<IHost>;
  mirrors: IRemote<IMirror[]>;
  keys: IRemote<IKey[]>;
  trans: TranslationBundle;
}): JSX.Element {
  const { host, mirrors, keys, trans } = props;
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
        <Muted>
          {trans.__('No mirror configured yet: add one under Mirrors.')}
        </Muted>
      )}
      {mirrors.value !== null && mirrors.value.length > 0 && (
        <ul
          className="jp-SpackPanel-mirrorChips"
          aria-label={trans.__('Mirrors')}
        >
          {mirrors.value.map(m => {
            const trust = mirrorTrust(m, keys.value, trans);
            return (
              <li key={m.name} title={`${m.url} — ${trust.label}`}>
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
