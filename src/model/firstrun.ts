/**
 * The first-run offers: add a mirror the site suggests, or build the demo
 * mirror (a server task that compiles it with gcc, then adds and trusts it).
 *
 * The offers themselves come from `GET /host` (`first_run`); here is what
 * clicking one does, and which of them the card shows. No DOM here.
 */
import { ServerConnection } from '@jupyterlab/services';

import * as api from '../api';
import { IErrorInfo, IFirstRun, IMirror, IMirrorPreset, ITask } from '../api';
import { isActive } from './progress';

export interface IFirstRunState {
  /** What is being added: a preset's name, "demo", or null. */
  busy: string | null;
  /** The demo task while it runs (its log says what it is doing). */
  task: ITask | null;
  /** Why the last offer failed, shown on the card. */
  error: IErrorInfo | null;
}

export const IDLE_FIRST_RUN: IFirstRunState = {
  busy: null,
  task: null,
  error: null
};

/** What the card shows, worked out from the offers, the mirrors and the policy. */
export interface IOffers {
  /** The site forbids user mirrors: say so and offer nothing. */
  forbidden: boolean;
  demo: IFirstRun['demo'];
  /** Presets that may be added (a button each), with whether they already are. */
  presets: { preset: IMirrorPreset; added: boolean }[];
  /** Each preset (or the demo: title null) the policy refuses, and why: one line each. */
  refused: { title: string | null; reason: string }[];
}

/** The offers to show, given what `GET /host` and `GET /mirrors` said. */
export function offers(
  firstRun: IFirstRun | undefined,
  mirrors: readonly IMirror[],
  userMirrors: boolean
): IOffers {
  const presets = firstRun?.presets ?? [];
  const demo = firstRun?.demo ?? null;
  const urls = new Set(mirrors.map(m => m.url));
  const refused = [
    ...(demo?.refusal ? [{ title: null, reason: demo.refusal }] : []),
    ...presets
      .filter(p => p.refusal)
      .map(p => ({ title: p.title, reason: p.refusal ?? '' }))
  ];
  return {
    forbidden: !userMirrors,
    demo: demo !== null && demo.refusal === null ? demo : null,
    presets: presets
      .filter(p => p.refusal === null)
      .map(preset => ({ preset, added: urls.has(preset.url) })),
    refused: userMirrors ? refused : []
  };
}

/** The demo task's last log line: what it is doing now. */
export function demoStep(task: ITask | null): string | null {
  const log = task?.log ?? [];
  const last = log.length > 0 ? log[log.length - 1] : null;
  return last !== null && !last.startsWith('task ') ? last : null;
}

export class FirstRunActions {
  constructor(options: {
    settings: ServerConnection.ISettings;
    /** Called with every new state. */
    update: (state: IFirstRunState) => void;
    /** A mirror was added (the demo: null, after its task ended). */
    added: (mirror: IMirror | null) => Promise<void>;
    pollMs?: number;
  }) {
    this._settings = options.settings;
    this._update = options.update;
    this._added = options.added;
    this.pollMs = options.pollMs ?? 1000;
  }

  pollMs: number;

  /** Stop following the demo task (the panel is closed); the task keeps running. */
  dispose(): void {
    this._disposed = true;
  }

  /** Add a mirror the site offers. */
  async addPreset(preset: IMirrorPreset): Promise<boolean> {
    this._update({ busy: preset.name, task: null, error: null });
    try {
      const mirror = await api.addPreset(this._settings, preset.name);
      this._update(IDLE_FIRST_RUN);
      await this._added(mirror);
      return true;
    } catch (reason) {
      this._update({ ...IDLE_FIRST_RUN, error: api.describeError(reason) });
      return false;
    }
  }

  /** Start (or join) the demo task and follow it to its end. */
  async buildDemo(): Promise<void> {
    this._update({ busy: 'demo', task: null, error: null });
    try {
      await this.follow(await api.startDemoMirror(this._settings));
    } catch (reason) {
      this._update({ ...IDLE_FIRST_RUN, error: api.describeError(reason) });
    }
  }

  /** Follow a demo task (also one found running after a page reload). */
  async follow(task: ITask): Promise<void> {
    let current = task;
    this._update({ busy: 'demo', task: current, error: null });
    while (isActive(current.state)) {
      await new Promise(resolve => setTimeout(resolve, this.pollMs));
      if (this._disposed) {
        return;
      }
      current = await api.fetchTask(this._settings, current.id);
      this._update({ busy: 'demo', task: current, error: null });
    }
    if (current.state === 'done') {
      this._update(IDLE_FIRST_RUN);
      await this._added(null);
      return;
    }
    this._update({
      ...IDLE_FIRST_RUN,
      error: current.error ?? {
        code: 'internal',
        message: `the demo mirror task ended ${current.state}`,
        hint: null
      }
    });
  }

  private readonly _settings: ServerConnection.ISettings;
  private readonly _update: (state: IFirstRunState) => void;
  private readonly _added: (mirror: IMirror | null) => Promise<void>;
  private _disposed = false;
}
