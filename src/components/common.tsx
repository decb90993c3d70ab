/**
 * Small building blocks shared by the panel's views: sections, bars, error lines.
 */
import { Dialog, showDialog } from '@jupyterlab/apputils';
import { TranslationBundle } from '@jupyterlab/translation';
import * as React from 'react';

import { IErrorInfo } from '../api';
import { percent } from '../model/format';
import { documented, panelHint } from '../model/hints';
import { PanelActions } from './actions';

/** A collapsible part of the panel (native <details>: keyboard and screen-reader ready). */
export function Section(props: {
  title: string;
  name: string;
  open?: boolean;
  extra?: React.ReactNode;
  children?: React.ReactNode;
}): JSX.Element {
  return (
    <details
      className="jp-SpackPanel-section"
      data-section={props.name}
      open={props.open ?? true}
    >
      <summary className="jp-SpackPanel-sectionTitle">
        <span>{props.title}</span>
        {props.extra}
      </summary>
      <div className="jp-SpackPanel-sectionBody">{props.children}</div>
    </details>
  );
}

/** A labelled progress bar (role="progressbar" with its value for assistive tech). */
export function ProgressBar(props: {
  fraction: number;
  label: string;
  state?: string;
}): JSX.Element {
  const value = percent(props.fraction);
  return (
    <div
      className="jp-SpackPanel-bar"
      role="progressbar"
      aria-valuemin={0}
      aria-valuemax={100}
      aria-valuenow={value}
      aria-label={props.label}
      data-state={props.state}
    >
      <div className="jp-SpackPanel-barFill" style={{ width: `${value}%` }} />
    </div>
  );
}

/**
 * A hint as the panel shows it: its words, a button for each step the panel
 * can do itself, and a link to the troubleshooting guide's section.
 */
export function Hint(props: {
  hint: string | null;
  code?: string | null;
  message?: string;
}): JSX.Element | null {
  const actions = React.useContext(PanelActions);
  const hint = panelHint(props.hint, props.code ?? null, props.message ?? '');
  const code = props.code ?? null;
  const help =
    code !== null && documented(code) && actions?.openHelp
      ? actions.openHelp
      : null;
  if (hint.text === null && hint.actions.length === 0 && help === null) {
    return null;
  }
  return (
    <div className="jp-SpackPanel-hint">
      {hint.text}
      {(hint.actions.length > 0 || help !== null) && (
        <span className="jp-SpackPanel-hintActions">
          {actions !== null &&
            hint.actions.map((a, i) =>
              a.kind === 'review-keys' ? (
                <ActionButton
                  key={i}
                  kind="warn"
                  className="jp-SpackPanel-hintAction"
                  onClick={() => actions.reviewKeys(a.mirror)}
                >
                  {actions.trans.__('Review keys')}
                </ActionButton>
              ) : a.kind === 'add-mirror' ? (
                <ActionButton
                  key={i}
                  kind="accept"
                  className="jp-SpackPanel-hintAction"
                  onClick={() => actions.addMirror()}
                >
                  {actions.trans.__('Add mirror')}
                </ActionButton>
              ) : null
            )}
          {help !== null && code !== null && (
            <button
              className="jp-SpackPanel-link jp-SpackPanel-helpLink"
              data-code={code}
              onClick={() => help(code)}
            >
              {actions?.trans.__('Troubleshooting: %1', code) ??
                `Troubleshooting: ${code}`}
            </button>
          )}
        </span>
      )}
    </div>
  );
}

/** The one-line reason of a failure and, under it, what to do next. */
export function ErrorLine(props: {
  error: IErrorInfo;
  onDismiss?: () => void;
  dismissLabel?: string;
}): JSX.Element {
  return (
    <div className="jp-SpackPanel-error" role="alert">
      <div className="jp-SpackPanel-errorMessage">{props.error.message}</div>
      <Hint
        hint={props.error.hint}
        code={props.error.code}
        message={props.error.message}
      />
      {props.onDismiss && (
        <button
          className="jp-SpackPanel-link"
          onClick={props.onDismiss}
          aria-label={props.dismissLabel}
        >
          ×
        </button>
      )}
    </div>
  );
}

/** A muted one-liner (loading, empty results). */
export function Muted(props: { children?: React.ReactNode }): JSX.Element {
  return <div className="jp-SpackPanel-muted">{props.children}</div>;
}

/**
 * A main action in JupyterLab's own button style (accept: blue, warn: red),
 * as the Extension Manager draws them. When disabled, `why` is its tooltip:
 * a pale button alone does not say what is missing.
 */
export function ActionButton(props: {
  kind: 'accept' | 'warn' | 'reject';
  className?: string;
  onClick?: () => void;
  disabled?: boolean;
  why?: string | null;
  title?: string;
  type?: 'button' | 'submit';
  children?: React.ReactNode;
}): JSX.Element {
  const tooltip = props.disabled ? (props.why ?? props.title) : props.title;
  return (
    <span className="jp-SpackPanel-actionWrap" title={tooltip ?? undefined}>
      <button
        type={props.type ?? 'button'}
        className={`jp-mod-styled jp-mod-${props.kind} jp-SpackPanel-action ${
          props.className ?? ''
        }`}
        disabled={props.disabled}
        aria-disabled={props.disabled}
        data-why={props.disabled ? (props.why ?? undefined) : undefined}
        onClick={props.onClick}
      >
        {props.children}
      </button>
    </span>
  );
}

/**
 * Scroll `ref` into view and focus it when `when` becomes true: what a click
 * made appear (a plan, an error) must not land off-screen.
 */
export function useRevealOn(
  ref: React.RefObject<HTMLElement>,
  when: boolean
): void {
  React.useEffect(() => {
    const el = ref.current;
    if (when && el !== null) {
      if (typeof el.scrollIntoView === 'function') {
        el.scrollIntoView({ block: 'nearest' });
      }
      el.focus({ preventScroll: true });
    }
  }, [when]);
}

/**
 * Ask before something that cannot be undone from here (remove, untrust, add
 * unsigned). The safe choice has the focus: Enter changes nothing.
 */
export async function confirmWarn(
  title: string,
  body: string | React.ReactElement,
  accept: string,
  trans: TranslationBundle
): Promise<boolean> {
  const result = await showDialog({
    title,
    body,
    defaultButton: 0,
    buttons: [
      Dialog.cancelButton({ label: trans.__('Cancel') }),
      Dialog.warnButton({ label: accept })
    ]
  });
  return result.button.accept;
}

/** Ask before adding a mirror without signature checks: say so before, not after. */
export function confirmUnsigned(
  name: string,
  trans: TranslationBundle
): Promise<boolean> {
  return confirmWarn(
    trans.__('Add %1 without signature checks?', name),
    trans.__(
      'Packages from an unsigned mirror are not verified: anyone who can change the mirror, or the network on the way, can change what you install and run.'
    ),
    trans.__('Add unsigned'),
    trans
  );
}

/** A group's heading with its count (installed applications, search results by kind). */
export function GroupTitle(props: {
  title: string;
  tip: string;
  count: number;
}): JSX.Element {
  return (
    <div className="jp-SpackPanel-groupTitle" title={props.tip}>
      {props.title} <span className="jp-SpackPanel-count">{props.count}</span>
    </div>
  );
}
