/**
 * What a user with no mirror sees first: the demo mirror, the mirrors the
 * site suggests (Spack's public cache by default), or a URL of their own —
 * each one click, and only what the site's policy allows. The same offers,
 * without the introduction, are listed in the Mirrors section afterwards.
 */
import { TranslationBundle } from '@jupyterlab/translation';
import { Button } from '@jupyterlab/ui-components';
import * as React from 'react';

import { IFirstRun, IMirror, IMirrorPreset } from '../api';
import { IFirstRunState, demoStep, offers } from '../model/firstrun';
import { ActionButton, ErrorLine, Muted } from './common';

export function FirstRunCard(props: {
  firstRun: IFirstRun | undefined;
  mirrors: readonly IMirror[];
  /** The site lets users add mirrors (GET /host policy; true when unknown). */
  userMirrors: boolean;
  state: IFirstRunState;
  onDemo: () => void;
  onPreset: (preset: IMirrorPreset) => void;
  /** Open the add form (the card only). */
  onEnterUrl?: () => void;
  /** In the Mirrors section: the offers only, no introduction. */
  compact?: boolean;
  trans: TranslationBundle;
}): JSX.Element | null {
  const { state, trans } = props;
  const shown = offers(props.firstRun, props.mirrors, props.userMirrors);
  const busy = state.busy !== null;
  if (props.compact && (shown.forbidden || shown.presets.length === 0)) {
    return null; // the section already says when adding is not allowed
  }
  const card = (
    <section
      className={`jp-SpackPanel-firstRunCard${props.compact ? ' jp-mod-compact' : ''}`}
      aria-label={trans.__('Add a first mirror')}
    >
      {!props.compact && (
        <>
          <div className="jp-SpackPanel-firstRunTitle">
            {trans.__('Start with a mirror')}
          </div>
          <Muted>
            {trans.__(
              'Packages come from mirrors (Spack build caches). Nothing can be searched until one is added; nothing is downloaded until you install.'
            )}
          </Muted>
        </>
      )}
      {shown.forbidden ? (
        <div className="jp-SpackPanel-firstRunForbidden" role="note">
          {trans.__(
            'Your site does not allow adding mirrors; ask your administrator.'
          )}
        </div>
      ) : (
        <ul className="jp-SpackPanel-offers">
          {!props.compact && shown.demo !== null && (
            <li className="jp-SpackPanel-offer" data-offer="demo">
              <div className="jp-SpackPanel-offerText">
                <strong>{trans.__('Demo packages')}</strong>
                <Muted>
                  {trans.__(
                    'A few small packages compiled here with gcc and signed with a key made for you: try everything without the network.'
                  )}
                </Muted>
              </div>
              <ActionButton
                kind="accept"
                className="jp-SpackPanel-addDemo"
                disabled={busy || shown.demo.unavailable !== null}
                why={
                  shown.demo.unavailable !== null
                    ? trans.__(
                        '%1: ask your administrator to install gcc, or add another mirror',
                        shown.demo.unavailable
                      )
                    : trans.__('Wait until the current one is added')
                }
                onClick={props.onDemo}
              >
                {trans.__('Add the demo mirror')}
              </ActionButton>
              {state.busy === 'demo' && (
                <div className="jp-SpackPanel-offerStep" role="status">
                  {trans.__('Building the demo mirror…')}{' '}
                  {demoStep(state.task) ?? ''}
                </div>
              )}
            </li>
          )}
          {shown.presets.map(({ preset, added }) => (
            <li
              key={preset.name}
              className="jp-SpackPanel-offer"
              data-offer={preset.name}
            >
              <div className="jp-SpackPanel-offerText">
                <strong>{preset.title}</strong>
                {preset.description && <Muted>{preset.description}</Muted>}
                <span className="jp-SpackPanel-url" title={preset.url}>
                  {preset.url}
                </span>
              </div>
              {added ? (
                <span
                  className="jp-SpackPanel-badge"
                  data-state="trusted"
                  title={trans.__('Already one of your mirrors')}
                >
                  {trans.__('added')}
                </span>
              ) : (
                <ActionButton
                  kind={preset.signed ? 'accept' : 'warn'}
                  className="jp-SpackPanel-addPreset"
                  disabled={busy}
                  why={trans.__('Wait until the current one is added')}
                  title={
                    preset.signed
                      ? trans.__(
                          'Signed: you review its key before anything installs'
                        )
                      : trans.__('Unsigned: packages are not verified')
                  }
                  onClick={() => props.onPreset(preset)}
                >
                  {state.busy === preset.name
                    ? trans.__('Adding…')
                    : trans.__('Add %1', preset.title)}
                </ActionButton>
              )}
            </li>
          ))}
        </ul>
      )}
      {shown.refused.map(({ title, reason }) => (
        <div
          key={title ?? ''}
          className="jp-SpackPanel-offerRefused jp-SpackPanel-muted"
        >
          {title === null
            ? trans.__('The demo mirror is not available: %1.', reason)
            : trans.__('%1 is not available: %2.', title, reason)}
        </div>
      ))}
      {state.error && <ErrorLine error={state.error} />}
      {!shown.forbidden && props.onEnterUrl && (
        <div className="jp-SpackPanel-actions">
          <Button
            small
            minimal
            className="jp-SpackPanel-enterUrl"
            onClick={props.onEnterUrl}
          >
            {trans.__('Enter a URL…')}
          </Button>
        </div>
      )}
    </section>
  );
  if (!props.compact) {
    return card;
  }
  // in the Mirrors section: one line until opened, so the section stays short
  return (
    <Suggested
      added={shown.presets.filter(p => p.added).length}
      total={shown.presets.length}
      trans={trans}
    >
      {card}
    </Suggested>
  );
}

/** A one-line toggle (a button, not a nested summary) over the site's suggestions. */
function Suggested(props: {
  added: number;
  total: number;
  trans: TranslationBundle;
  children: React.ReactNode;
}): JSX.Element {
  const [open, setOpen] = React.useState(false);
  return (
    <div className="jp-SpackPanel-suggested">
      <button
        className="jp-SpackPanel-link jp-SpackPanel-suggestedToggle"
        aria-expanded={open}
        onClick={() => setOpen(!open)}
      >
        {open ? '▾ ' : '▸ '}
        {props.trans.__(
          'Suggested by your site (%1 of %2 added)',
          props.added,
          props.total
        )}
      </button>
      {open && props.children}
    </div>
  );
}
