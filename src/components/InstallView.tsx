/**
 * A running (or just finished) install: an overall bar, one bar per package
 * with its stage and bytes, and Cancel. A failure shows its one-line reason
 * and what to do next.
 */
import { TranslationBundle } from '@jupyterlab/translation';
import { Button } from '@jupyterlab/ui-components';
import * as React from 'react';

import { Stage, TaskState } from '../api';
import { displaySpec, humanBytes, percent } from '../model/format';
import {
  IInstallProgress,
  INodeBar,
  isActive,
  overall
} from '../model/progress';
import { ActionButton, ErrorLine, ProgressBar } from './common';

function stageLabel(stage: Stage, trans: TranslationBundle): string {
  switch (stage) {
    case 'queued':
      return trans.__('waiting');
    case 'download':
      return trans.__('downloading');
    case 'verify':
      return trans.__('verifying');
    case 'extract':
      return trans.__('extracting');
    case 'unpacked':
      return trans.__('waiting for dependencies');
    case 'relocate':
      return trans.__('relocating');
    case 'done':
      return trans.__('installed');
    case 'reused':
      return trans.__('already installed');
    case 'external':
      return trans.__('provided by the system');
    case 'failed':
      return trans.__('failed');
    case 'cancelled':
      return trans.__('cancelled');
  }
}

function stateLabel(
  state: TaskState,
  trans: TranslationBundle,
  waiting = false
): string {
  switch (state) {
    case 'queued':
      // a task is queued for a moment before it starts, even when nothing else runs
      return waiting
        ? trans.__('Waiting for another install to finish…')
        : trans.__('Starting…');
    case 'running':
      return trans.__('Installing…');
    case 'done':
      return trans.__('Installed.');
    case 'failed':
      return trans.__('Install failed; nothing was left half-installed.');
    case 'cancelled':
      return trans.__('Cancelled; nothing was left half-installed.');
    case 'interrupted':
      return trans.__(
        'Install interrupted by a server restart and rolled back.'
      );
  }
}

function NodeRow(props: {
  bar: INodeBar;
  /** The task's own error line (not repeated under the package). */
  taskError: string | null;
  trans: TranslationBundle;
}): JSX.Element {
  const { bar, trans } = props;
  const bytes =
    bar.stage === 'download'
      ? `${humanBytes(bar.downloaded)} / ${humanBytes(bar.size)}`
      : bar.size !== null && bar.stage !== 'external' && bar.stage !== 'reused'
        ? humanBytes(bar.size)
        : '';
  return (
    <li
      className="jp-SpackPanel-node"
      data-stage={bar.stage}
      data-package={bar.name}
    >
      <div className="jp-SpackPanel-nodeHead">
        <span className="jp-SpackPanel-name">{`${bar.name}@${bar.version}`}</span>
        <span className="jp-SpackPanel-stage">
          {stageLabel(bar.stage, trans)}
        </span>
        <span className="jp-SpackPanel-size">{bytes}</span>
      </div>
      <ProgressBar
        fraction={bar.fraction}
        state={bar.stage}
        label={trans.__('%1: %2', bar.name, stageLabel(bar.stage, trans))}
      />
      {bar.stage === 'failed' &&
        bar.message &&
        bar.message !== props.taskError && (
          <div className="jp-SpackPanel-errorMessage">{bar.message}</div>
        )}
    </li>
  );
}

export function InstallView(props: {
  progress: IInstallProgress;
  polling: boolean;
  onCancel: () => void;
  onClose: () => void;
  trans: TranslationBundle;
}): JSX.Element {
  const { progress, trans } = props;
  const total = overall(progress);
  const active = isActive(progress.state);
  // queued for longer than a start takes: then another install really is ahead of it
  const [waiting, setWaiting] = React.useState(false);
  React.useEffect(() => {
    setWaiting(false);
    if (progress.state !== 'queued') {
      return;
    }
    const timer = setTimeout(() => setWaiting(true), 1500);
    return () => clearTimeout(timer);
  }, [progress.state, progress.taskId]);
  return (
    <div
      className="jp-SpackPanel-progress"
      data-task={progress.taskId}
      data-state={progress.state}
      aria-label={trans.__('Install progress')}
    >
      <div className="jp-SpackPanel-planTitle">
        {active
          ? trans.__('Installing %1', progress.specs.map(displaySpec).join(' '))
          : trans.__(
              'Install of %1',
              progress.specs.map(displaySpec).join(' ')
            )}
      </div>
      <div className="jp-SpackPanel-taskState" aria-live="polite">
        {stateLabel(progress.state, trans, waiting)}{' '}
        {total.packages > 0 &&
          (active || progress.state === 'done') &&
          trans.__(
            '%1 of %2 packages, %3 downloaded (%4%)',
            total.finished,
            total.packages,
            humanBytes(total.downloaded),
            percent(total.fraction)
          )}
      </div>
      <ProgressBar
        fraction={total.fraction}
        state={progress.state}
        label={trans.__('Overall progress')}
      />
      {progress.error && progress.state !== 'cancelled' && (
        <ErrorLine error={progress.error} />
      )}
      <ul className="jp-SpackPanel-nodes">
        {progress.bars.map(b => (
          <NodeRow
            key={b.hash}
            bar={b}
            taskError={progress.error?.message ?? null}
            trans={trans}
          />
        ))}
      </ul>
      {progress.notes.map((note, i) => (
        <div key={i} className="jp-SpackPanel-note" role="status">
          {note}
        </div>
      ))}
      {props.polling && active && (
        <div className="jp-SpackPanel-muted">
          {trans.__('Live updates unavailable; checking every few seconds.')}
        </div>
      )}
      <div className="jp-SpackPanel-actions">
        {active ? (
          <ActionButton
            kind="warn"
            className="jp-SpackPanel-cancel"
            onClick={props.onCancel}
            title={trans.__('Stop and roll back what was done so far')}
          >
            {trans.__('Cancel install')}
          </ActionButton>
        ) : (
          <Button
            minimal
            className="jp-SpackPanel-close"
            onClick={props.onClose}
          >
            {trans.__('Close')}
          </Button>
        )}
      </div>
    </div>
  );
}
