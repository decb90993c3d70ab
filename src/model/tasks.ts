/**
 * Following one install task: the server's event stream first, polling
 * `GET /tasks/{id}` when the stream is unavailable or drops, until the task ends.
 *
 * The transport is injected, so the tracker is tested with scripted streams;
 * everything it learns goes through the pure fold in `progress.ts`.
 */
import { ISignal, Signal } from '@lumino/signaling';

import { ITask, TaskEvent } from '../api';
import {
  IInstallProgress,
  applyProgress,
  applyTask,
  fromTask,
  isActive
} from './progress';

export interface ITaskTransport {
  /** One `GET /tasks/{id}`. */
  fetch(taskId: string): Promise<ITask>;
  /** The event stream; resolves when the server ends it. */
  stream(
    taskId: string,
    onEvent: (event: TaskEvent) => void,
    options: { signal: AbortSignal; lastEventId: number | null }
  ): Promise<void>;
}

/** Wait `ms`, or less if `signal` aborts. */
function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise(resolve => {
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done);
  });
}

export class TaskTracker {
  constructor(
    transport: ITaskTransport,
    task: ITask,
    options: { pollMs?: number; maxStreamFailures?: number } = {}
  ) {
    this._transport = transport;
    this._progress = fromTask(task);
    this._pollMs = options.pollMs ?? 1000;
    this._maxStreamFailures = options.maxStreamFailures ?? 2;
  }

  /** Emits every new progress value. */
  get changed(): ISignal<this, IInstallProgress> {
    return this._changed;
  }

  get progress(): IInstallProgress {
    return this._progress;
  }

  get taskId(): string {
    return this._progress.taskId;
  }

  /** Whether the tracker fell back to polling (the stream failed). */
  get polling(): boolean {
    return this._polling;
  }

  /**
   * Follow the task until it ends (or `stop()`); resolves with the final
   * progress. Never rejects: a lost server shows as the last known state.
   */
  async follow(): Promise<IInstallProgress> {
    const signal = this._abort.signal;
    let failures = 0;
    while (isActive(this._progress.state) && !signal.aborted) {
      if (failures < this._maxStreamFailures) {
        try {
          await this._transport.stream(this.taskId, e => this._onEvent(e), {
            signal,
            lastEventId: this._progress.lastEventId
          });
        } catch {
          // a network or HTTP error: counted below like an early end
        }
        // the stream ended (the task finished, or a proxy closed it): confirm
        if (!signal.aborted) {
          await this._poll();
        }
        if (isActive(this._progress.state)) {
          failures++;
        }
        continue;
      }
      this._setPolling(true);
      await sleep(this._pollMs, signal);
      if (!signal.aborted) {
        await this._poll();
      }
    }
    return this._progress;
  }

  /** Stop following (the panel is disposed); the task itself keeps running. */
  stop(): void {
    this._abort.abort();
  }

  private async _poll(): Promise<void> {
    try {
      this._set(
        applyTask(this._progress, await this._transport.fetch(this.taskId))
      );
    } catch {
      // keep the last known state; the next round tries again
      await sleep(this._pollMs, this._abort.signal);
    }
  }

  private _onEvent(event: TaskEvent): void {
    if (event.kind === 'task') {
      this._set(applyTask(this._progress, event.task, event.id));
    } else {
      this._set(applyProgress(this._progress, event.progress, event.id));
    }
  }

  private _set(progress: IInstallProgress): void {
    if (progress !== this._progress) {
      this._progress = progress;
      this._changed.emit(progress);
    }
  }

  private _setPolling(polling: boolean): void {
    if (polling !== this._polling) {
      this._polling = polling;
      this._changed.emit(this._progress);
    }
  }

  private readonly _transport: ITaskTransport;
  private readonly _pollMs: number;
  private readonly _maxStreamFailures: number;
  private readonly _abort = new AbortController();
  private readonly _changed = new Signal<this, IInstallProgress>(this);
  private _progress: IInstallProgress;
  private _polling = false;
}
