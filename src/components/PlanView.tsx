/**
 * The plan, shown before anything is downloaded: what is downloaded (and
 * how much), what is reused, what the system provides, and the prechecks.
 * Nothing happens until the user confirms.
 */
import { Clipboard } from '@jupyterlab/apputils';
import { TranslationBundle } from '@jupyterlab/translation';
import { Button, copyIcon } from '@jupyterlab/ui-components';
import * as React from 'react';

import { IPlannedNode } from '../api';
import { displaySpec, humanBytes, shortSpec } from '../model/format';
import { IPlace, placeOf, summarizePlan } from '../model/plan';
import { IPendingPlan } from '../model/spack';
import { ActionButton, ErrorLine, Hint, Muted, useRevealOn } from './common';

/** Where the package goes or already is: the path (its end kept at narrow widths), copyable. */
function PlacePath(props: {
  place: IPlace;
  trans: TranslationBundle;
}): JSX.Element | null {
  const { place, trans } = props;
  if (place.path === null || place.short === null) {
    return null;
  }
  const label =
    place.kind === 'new'
      ? trans.__('installs to')
      : place.kind === 'installed'
        ? trans.__('already in')
        : place.kind === 'upstream'
          ? trans.__('shared tree')
          : trans.__('system');
  const title =
    place.kind === 'new'
      ? trans.__('Will be installed to %1', place.path)
      : place.kind === 'installed'
        ? trans.__('Already installed in %1', place.path)
        : place.kind === 'upstream'
          ? trans.__(
              'Provided by the shared, read-only Spack tree %1, at %2',
              place.upstream ?? '',
              place.path
            )
          : trans.__('Provided by the system at %1', place.path);
  return (
    <div
      className="jp-SpackPanel-nodePath"
      data-place={place.kind}
      title={title}
    >
      <span className="jp-SpackPanel-muted">{label}</span>
      <code className="jp-SpackPanel-pathText">
        {'\u200e'}
        {place.kind === 'upstream' ? place.path : place.short}
        {'\u200e'}
      </code>
      <button
        className="jp-SpackPanel-link jp-SpackPanel-copyPath"
        title={trans.__('Copy %1', place.path)}
        aria-label={trans.__('Copy the path')}
        onClick={() => Clipboard.copyToSystem(place.path!)}
      >
        <copyIcon.react tag="span" className="jp-SpackPanel-useIcon" />
      </button>
    </div>
  );
}

function NodeList(props: {
  title: string;
  nodes: IPlannedNode[];
  action: string;
  /** The plan's install root: new paths are shown below it. */
  root: string;
  sizes?: boolean;
  /** The trust state of each mirror (the server's), for downloaded packages. */
  trustOf?: (mirror: string) => string | undefined;
  trans: TranslationBundle;
}): JSX.Element | null {
  if (props.nodes.length === 0) {
    return null;
  }
  return (
    <div className="jp-SpackPanel-planGroup" data-action={props.action}>
      <div className="jp-SpackPanel-planGroupTitle">{props.title}</div>
      <ul>
        {props.nodes.map(n => (
          <li
            key={n.hash}
            title={props.trans.__(
              '%1 for %2 from %3, into %4',
              `${n.name}@${n.version}/${n.hash}`,
              n.target,
              n.mirror ?? props.trans.__('this system'),
              n.prefix ?? '—'
            )}
          >
            <span className="jp-SpackPanel-cut">
              {shortSpec(n.name, n.version, n.hash)}
            </span>
            <span className="jp-SpackPanel-muted jp-SpackPanel-nodeWhere">
              {n.mirror && !n.upstream ? `${n.target} · ${n.mirror}` : n.target}
            </span>
            {n.mirror && props.trustOf?.(n.mirror) && (
              <SignatureBadge
                state={props.trustOf(n.mirror)!}
                trans={props.trans}
              />
            )}
            {n.explicit && (
              <span className="jp-SpackPanel-badge" data-state="requested">
                {props.trans.__('requested')}
              </span>
            )}
            {props.sizes && (
              <span className="jp-SpackPanel-size">{humanBytes(n.size)}</span>
            )}
            <PlacePath place={placeOf(n, props.root)} trans={props.trans} />
          </li>
        ))}
      </ul>
    </div>
  );
}

/** Whether a downloaded package will be verified, from its mirror's state. */
function SignatureBadge(props: {
  state: string;
  trans: TranslationBundle;
}): JSX.Element {
  const { trans } = props;
  const label =
    props.state === 'trusted'
      ? trans.__('signed')
      : props.state === 'untrusted'
        ? trans.__('key not trusted')
        : props.state === 'unsigned'
          ? trans.__('unsigned')
          : trans.__('signature unknown');
  return (
    <span
      className="jp-SpackPanel-badge jp-SpackPanel-nodeSignature"
      data-state={props.state}
    >
      {label}
    </span>
  );
}

export function PlanView(props: {
  pending: IPendingPlan;
  trustOf?: (mirror: string) => string | undefined;
  kernel: boolean;
  onKernel: (kernel: boolean) => void;
  onConfirm: () => void;
  onDismiss: () => void;
  trans: TranslationBundle;
}): JSX.Element {
  const { pending, trans } = props;
  const remote = pending.plan;
  const plan = remote.value;
  const summary = plan === null ? null : summarizePlan(plan);
  const ref = React.useRef<HTMLDivElement>(null);
  useRevealOn(ref, plan !== null || remote.error !== null);
  const why =
    summary === null
      ? trans.__('The plan is still being worked out')
      : summary.nothingToDo
        ? trans.__('Everything is already installed')
        : trans.__('A precheck failed: see the ✗ line above');
  return (
    <div
      className="jp-SpackPanel-plan"
      aria-label={trans.__('Install plan')}
      ref={ref}
      tabIndex={-1}
      onKeyDown={e => {
        if (e.key === 'Escape') {
          e.stopPropagation();
          props.onDismiss();
        }
      }}
    >
      <div className="jp-SpackPanel-planTitle">
        {trans.__('Plan for %1', pending.specs.map(displaySpec).join(' '))}
      </div>
      {remote.loading && (
        <Muted>{trans.__('Working out what to install…')}</Muted>
      )}
      {remote.error && <ErrorLine error={remote.error} />}
      {plan !== null && summary !== null && (
        <>
          <div className="jp-SpackPanel-planTotal">
            {summary.nothingToDo
              ? trans.__('Already installed: nothing to download.')
              : trans._n(
                  'Download %1 package, %2%3, into %4',
                  'Download %1 packages, %2%3, into %4',
                  summary.download.length,
                  humanBytes(summary.downloadBytes),
                  summary.unknownSizes > 0 ? trans.__(' or more') : '',
                  plan.install_root
                )}
          </div>
          <NodeList
            title={trans.__('Downloaded')}
            nodes={summary.download}
            action="download"
            root={plan.install_root}
            sizes
            trustOf={props.trustOf}
            trans={trans}
          />
          <NodeList
            title={trans.__('Reused (already installed)')}
            nodes={summary.reuse}
            action="reuse"
            root={plan.install_root}
            trans={trans}
          />
          <NodeList
            title={trans.__('Provided by the system')}
            nodes={summary.external}
            action="external"
            root={plan.install_root}
            trans={trans}
          />
          <ul
            className="jp-SpackPanel-checks"
            aria-label={trans.__('Prechecks')}
          >
            {plan.checks.map(c => (
              <li key={c.name} data-ok={c.ok}>
                <span aria-hidden="true">{c.ok ? '✓' : '✗'}</span> {c.message}
                {!c.ok && c.hint && <Hint hint={c.hint} />}
              </li>
            ))}
          </ul>
          <label className="jp-SpackPanel-toggle">
            <input
              type="checkbox"
              checked={props.kernel}
              onChange={e => props.onKernel(e.currentTarget.checked)}
            />
            {trans.__('Register as a Jupyter kernel')}
          </label>
        </>
      )}
      <div className="jp-SpackPanel-actions">
        <ActionButton
          kind="accept"
          className="jp-SpackPanel-confirm"
          disabled={summary === null || !summary.canInstall}
          why={why}
          onClick={props.onConfirm}
        >
          {trans.__('Confirm install')}
        </ActionButton>
        <Button
          minimal
          className="jp-SpackPanel-dismiss"
          onClick={props.onDismiss}
        >
          {trans.__('Cancel')}
        </Button>
      </div>
    </div>
  );
}
