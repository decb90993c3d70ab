/**
 * Mirrors and the keys that sign them. Adding goes through the server's site
 * policy (a refusal shows its reason); a key is trusted only after its
 * fingerprint and user IDs have been shown and ticked.
 */
import { TranslationBundle } from '@jupyterlab/translation';
import { Button, InputGroup } from '@jupyterlab/ui-components';
import * as React from 'react';

import { IErrorInfo, IKey, IMirror, IMirrorKeys } from '../api';
import { IRemote } from '../model/spack';
import {
  ActionButton,
  ErrorLine,
  Muted,
  confirmUnsigned,
  confirmWarn,
  useRevealOn
} from './common';
import { mirrorBadge } from '../model/builds';

/** A fingerprint in groups of four, as GnuPG prints it. */
export function groupFingerprint(fingerprint: string): string {
  return fingerprint.replace(/(.{4})(?=.)/g, '$1 ');
}

function KeyLine(props: { k: IKey }): JSX.Element {
  return (
    <>
      <code className="jp-SpackPanel-fingerprint">
        {groupFingerprint(props.k.fingerprint)}
      </code>
      <div>{props.k.uids.join('; ') || '—'}</div>
    </>
  );
}

function KeyPreview(props: {
  preview: IRemote<IMirrorKeys>;
  onTrust: (mirror: string, fingerprints: string[]) => void;
  onClose: () => void;
  trans: TranslationBundle;
}): JSX.Element {
  const { preview, trans } = props;
  const [ticked, setTicked] = React.useState<string[]>([]);
  const value = preview.value;
  return (
    <div
      className="jp-SpackPanel-keyPreview"
      aria-label={trans.__('Keys to review')}
    >
      {preview.loading && (
        <Muted>{trans.__('Reading the mirror’s keys…')}</Muted>
      )}
      {preview.error && <ErrorLine error={preview.error} />}
      {value !== null && (
        <>
          <div className="jp-SpackPanel-planTitle">
            {trans.__('Keys published by %1', value.mirror)}
          </div>
          <Muted>
            {trans.__(
              'Trust a key only if you know its fingerprint belongs to who built the packages.'
            )}
          </Muted>
          {value.keys.length === 0 && (
            <Muted>{trans.__('The mirror publishes no keys.')}</Muted>
          )}
          <ul className="jp-SpackPanel-keys">
            {value.keys.map(k => (
              <li key={k.fingerprint}>
                <label>
                  <input
                    type="checkbox"
                    disabled={k.trusted === true}
                    checked={
                      k.trusted === true || ticked.includes(k.fingerprint)
                    }
                    onChange={e =>
                      setTicked(
                        e.currentTarget.checked
                          ? [...ticked, k.fingerprint]
                          : ticked.filter(f => f !== k.fingerprint)
                      )
                    }
                  />
                  <span>
                    <KeyLine k={k} />
                    {k.trusted && <Muted>{trans.__('already trusted')}</Muted>}
                  </span>
                </label>
              </li>
            ))}
          </ul>
        </>
      )}
      <div className="jp-SpackPanel-actions">
        <ActionButton
          kind="accept"
          className="jp-SpackPanel-trust"
          disabled={value === null || ticked.length === 0}
          why={trans.__('Tick the keys whose fingerprints you have checked')}
          onClick={() => value && props.onTrust(value.mirror, ticked)}
        >
          {trans.__('Trust selected keys')}
        </ActionButton>
        <Button minimal onClick={props.onClose}>
          {trans.__('Close')}
        </Button>
      </div>
    </div>
  );
}

export function MirrorsView(props: {
  mirrors: IRemote<IMirror[]>;
  keys: IRemote<IKey[]>;
  keyPreview: IRemote<IMirrorKeys> | null;
  addError?: IErrorInfo | null;
  onAdd: (name: string, url: string, unsigned: boolean) => Promise<boolean>;
  onRemove: (mirror: IMirror) => void;
  onReviewKeys: (mirror: string) => void;
  onTrust: (mirror: string, fingerprints: string[]) => void;
  onClosePreview: () => void;
  onUntrust?: (fingerprint: string) => void;
  /** The site's mirror permissions (from GET /host); everything allowed when unknown. */
  policy?: { user_mirrors: boolean; unsigned_mirrors: boolean } | null;
  /** The site's suggested mirrors, shown above the add form. */
  offers?: React.ReactNode;
  trans: TranslationBundle;
}): JSX.Element {
  const { mirrors, keys, trans } = props;
  const untrust = async (k: IKey): Promise<void> => {
    const accepted = await confirmWarn(
      trans.__('Stop trusting this key?'),
      trans.__(
        '%1 (%2): packages it signed will no longer verify, so they cannot be installed until you trust it again.',
        groupFingerprint(k.fingerprint),
        k.uids.join('; ') || '—'
      ),
      trans.__('Untrust'),
      trans
    );
    if (accepted) {
      props.onUntrust?.(k.fingerprint);
    }
  };
  const [name, setName] = React.useState('');
  const [url, setUrl] = React.useState('');
  const [unsigned, setUnsigned] = React.useState(false);
  const errorRef = React.useRef<HTMLDivElement>(null);
  useRevealOn(
    errorRef,
    props.addError !== null && props.addError !== undefined
  );
  const submit = async (e: React.FormEvent): Promise<void> => {
    e.preventDefault();
    if (unsigned) {
      // nothing from an unsigned mirror is verified: say so before, not after
      if (!(await confirmUnsigned(name.trim(), trans))) {
        return;
      }
    }
    if (await props.onAdd(name.trim(), url.trim(), unsigned)) {
      setName('');
      setUrl('');
      setUnsigned(false);
    }
  };
  return (
    <div className="jp-SpackPanel-mirrors">
      {mirrors.error && <ErrorLine error={mirrors.error} />}
      <ul className="jp-SpackPanel-mirrorList">
        {(mirrors.value ?? []).map(m => {
          const trust = mirrorBadge(m, trans);
          return (
            <li key={m.name} data-mirror={m.name}>
              <div className="jp-SpackPanel-mirrorHead">
                <span className="jp-SpackPanel-name">{m.name}</span>
                <span
                  className="jp-SpackPanel-badge"
                  data-state={trust.state}
                  title={trust.detail}
                >
                  {trust.label}
                </span>
              </div>
              <div className="jp-SpackPanel-url" title={m.url}>
                {m.url}
              </div>
              {trust.state !== 'trusted' && (
                <div className="jp-SpackPanel-hint">{trust.detail}</div>
              )}
              <div className="jp-SpackPanel-actions">
                {m.signed && trust.state !== 'trusted' && (
                  <ActionButton
                    kind="warn"
                    className="jp-SpackPanel-reviewKeys"
                    onClick={() => props.onReviewKeys(m.name)}
                  >
                    {trans.__('Review keys')}
                  </ActionButton>
                )}
                {m.signed && trust.state === 'trusted' && (
                  <Button
                    small
                    minimal
                    className="jp-SpackPanel-reviewKeys"
                    onClick={() => props.onReviewKeys(m.name)}
                  >
                    {trans.__('Keys…')}
                  </Button>
                )}
                {m.origin === 'user' ? (
                  <Button small minimal onClick={() => props.onRemove(m)}>
                    {trans.__('Remove')}
                  </Button>
                ) : (
                  <Muted>
                    {trans.__(
                      'Set by your site; only an administrator can remove it.'
                    )}
                  </Muted>
                )}
              </div>
            </li>
          );
        })}
      </ul>
      {props.keyPreview !== null && (
        <KeyPreview
          preview={props.keyPreview}
          onTrust={props.onTrust}
          onClose={props.onClosePreview}
          trans={trans}
        />
      )}
      {props.offers}
      {props.policy?.user_mirrors === false ? (
        <Muted>
          {trans.__(
            'Your site does not let users add mirrors; ask your administrators to add one to the site configuration.'
          )}
        </Muted>
      ) : (
        <form
          className="jp-SpackPanel-addMirror"
          onSubmit={e => void submit(e)}
        >
          <div className="jp-SpackPanel-planTitle">
            {trans.__('Add a mirror')}
          </div>
          <InputGroup
            placeholder={trans.__('Name, e.g. team')}
            aria-label={trans.__('Mirror name')}
            value={name}
            onChange={e => setName(e.currentTarget.value)}
          />
          <InputGroup
            placeholder={trans.__(
              'URL: https://, s3://, oci://, file:// or a path'
            )}
            aria-label={trans.__('Mirror URL')}
            value={url}
            onChange={e => setUrl(e.currentTarget.value)}
          />
          {props.policy?.unsigned_mirrors === false ? (
            <Muted>
              {trans.__(
                'Your site allows signed mirrors only: packages are always verified.'
              )}
            </Muted>
          ) : (
            <label className="jp-SpackPanel-toggle">
              <input
                type="checkbox"
                checked={unsigned}
                onChange={e => setUnsigned(e.currentTarget.checked)}
              />
              {trans.__(
                'Unsigned (packages are not verified; your site may forbid this)'
              )}
            </label>
          )}
          <Muted>
            {trans.__(
              'Your site’s policy decides which mirrors are allowed; a refusal says why.'
            )}
          </Muted>
          <div className="jp-SpackPanel-actions">
            <ActionButton
              kind="accept"
              type="submit"
              className="jp-SpackPanel-addMirrorSubmit"
              disabled={!name.trim() || !url.trim()}
              why={trans.__('Give the mirror a name and a URL first')}
            >
              {trans.__('Add mirror')}
            </ActionButton>
          </div>
          {props.addError && (
            <div
              ref={errorRef}
              tabIndex={-1}
              className="jp-SpackPanel-formError"
            >
              <ErrorLine error={props.addError} />
            </div>
          )}
        </form>
      )}
      <div className="jp-SpackPanel-planTitle">{trans.__('Trusted keys')}</div>
      {keys.error && <ErrorLine error={keys.error} />}
      {keys.value !== null && keys.value.length === 0 && (
        <Muted>
          {trans.__(
            'No key trusted yet: signed mirrors cannot be installed from.'
          )}
        </Muted>
      )}
      <ul className="jp-SpackPanel-keys">
        {(keys.value ?? []).map(k => (
          <li key={k.fingerprint} data-fingerprint={k.fingerprint}>
            <KeyLine k={k} />
            {props.onUntrust && (
              <Button
                small
                minimal
                className="jp-SpackPanel-untrust"
                title={trans.__(
                  'Stop trusting this key: packages it signed no longer install'
                )}
                onClick={() => void untrust(k)}
              >
                {trans.__('Untrust')}
              </Button>
            )}
          </li>
        ))}
      </ul>
    </div>
  );
}
