/**
 * The panel's state and the actions that change it: host, mirrors and keys,
 * the chosen package, the plan, the running install, and what is installed.
 *
 * No DOM here: views read `state`, listen to `changed`, and call the actions.
 * Every failure lands in the state as the server's one-line message and hint.
 */
import { ServerConnection } from '@jupyterlab/services';
import { TranslationBundle, nullTranslator } from '@jupyterlab/translation';
import { ISignal, Signal } from '@lumino/signaling';

import * as api from '../api';
import * as events from '../events';
import {
  IErrorInfo,
  IHost,
  IInstalledRecord,
  IKey,
  IMirror,
  IMirrorKeys,
  IPackageGroup,
  IPlan,
  ISpecDetail,
  ITask
} from '../api';
import { bestBuild } from './builds';
import { fileTaskNotice } from './envfile';
import { FirstRunActions, IDLE_FIRST_RUN, IFirstRunState } from './firstrun';
import { shortSpec } from './format';
import { IInstallProgress, isActive } from './progress';
import { SearchModel } from './search';
import { ITaskTransport, TaskTracker } from './tasks';

/** A value fetched from the server, with its loading flag and last error. */
export interface IRemote<T> {
  value: T | null;
  loading: boolean;
  error: IErrorInfo | null;
}

/** The plan waiting for the user's confirmation. */
export interface IPendingPlan {
  specs: string[];
  plan: IRemote<IPlan>;
}

/** A one-line message after an action (what happened, or why it did not). */
export interface INotice {
  kind: 'info' | 'error';
  message: string;
  hint: string | null;
  /** The error's code (its troubleshooting section), for errors. */
  code?: string;
}

export interface ISpackState {
  host: IRemote<IHost>;
  mirrors: IRemote<IMirror[]>;
  keys: IRemote<IKey[]>;
  installed: IRemote<IInstalledRecord[]>;
  /** The package opened from the search results. */
  selected: IPackageGroup | null;
  /** Hash of the build chosen within it, and that build's details. */
  build: string | null;
  detail: IRemote<ISpecDetail>;
  plan: IPendingPlan | null;
  install: IInstallProgress | null;
  /** The install view fell back to polling (no event stream). */
  polling: boolean;
  /** Register the installed stack as a Jupyter kernel. */
  kernel: boolean;
  /** A mirror's keys shown for review before trusting them. */
  keyPreview: IRemote<IMirrorKeys> | null;
  notice: INotice | null;
  /** Why the last "Add mirror" failed, shown under the form. */
  mirrorError: IErrorInfo | null;
  /** The first-run card's offers in progress (a preset, the demo task). */
  firstRun: IFirstRunState;
}

export interface ISpackOptions {
  settings: ServerConnection.ISettings;
  debounceMs?: number;
  pageSize?: number;
  pollMs?: number;
  kernel?: boolean;
  /** For the notices the model writes itself. */
  trans?: TranslationBundle;
}

function idle<T>(value: T | null = null): IRemote<T> {
  return { value, loading: false, error: null };
}

export class SpackModel {
  constructor(options: ISpackOptions) {
    this._settings = options.settings;
    this.pollMs = options.pollMs ?? 1000;
    this._trans = options.trans ?? nullTranslator.load('jupyter_spackcache');
    this.pageSize = options.pageSize ?? 25;
    this.search = new SearchModel(
      (query, page) =>
        api.searchSpecs(this._settings, query, page, this.pageSize),
      options.debounceMs ?? 300
    );
    this._state = {
      host: idle(),
      mirrors: idle(),
      keys: idle(),
      installed: idle(),
      selected: null,
      build: null,
      detail: idle(),
      plan: null,
      install: null,
      polling: false,
      kernel: options.kernel ?? false,
      keyPreview: null,
      notice: null,
      mirrorError: null,
      firstRun: IDLE_FIRST_RUN
    };
    this.firstRun = new FirstRunActions({
      settings: this._settings,
      pollMs: this.pollMs,
      update: firstRun => this._set({ firstRun }),
      added: mirror => this._offerAdded(mirror)
    });
  }

  /** The first-run card's actions: add a site preset, build the demo mirror. */
  readonly firstRun: FirstRunActions;

  /** The search box's own model (debounced, paged). */
  readonly search: SearchModel;

  /** Results per page (from the settings). */
  pageSize: number;

  /** Milliseconds between polls when the event stream is unavailable. */
  pollMs: number;

  /** Shortest time between two redraws of the install progress. */
  frameMs = 100;

  get state(): ISpackState {
    return this._state;
  }

  get changed(): ISignal<this, ISpackState> {
    return this._changed;
  }

  /** Emitted with the task when an install ends (done, failed, cancelled). */
  get taskFinished(): ISignal<this, IInstallProgress> {
    return this._taskFinished;
  }

  /**
   * A kernelspec was made or removed outside this panel (CLI, `%spack kernel`):
   * JupyterLab's kernelspec list, which the Kernel buttons read, is stale.
   */
  get kernelsChanged(): ISignal<this, void> {
    return this._kernelsChanged;
  }

  get isDisposed(): boolean {
    return this._disposed;
  }

  dispose(): void {
    this._disposed = true;
    this._following?.abort();
    this.firstRun.dispose();
    this.search.dispose();
    this._tracker?.stop();
    Signal.clearData(this);
  }

  // ---- loading --------------------------------------------------------------------------

  /**
   * Load everything the panel shows, re-attach to a running install, and
   * list the first page of what can be installed (before anything is typed).
   */
  async refresh(): Promise<void> {
    this.followChanges();
    const browse = this.search.state.result === null ? this.search.run() : null;
    await Promise.all([
      this.loadHost(),
      this.loadMirrors(),
      this.loadKeys(),
      this.loadInstalled(),
      this.reattach(),
      browse
    ]);
  }

  /**
   * Reload what changed elsewhere (a `%spack install`, the CLI, another tab)
   * as the server reports it; reconnects after a dropped stream.
   */
  followChanges(): void {
    if (this._following !== null || this._disposed) {
      return;
    }
    const abort = new AbortController();
    this._following = abort;
    const loop = async (): Promise<void> => {
      while (!abort.signal.aborted) {
        try {
          await events.streamChanges(
            this._settings,
            parts => void this.reload(parts),
            { signal: abort.signal }
          );
        } catch {
          // a dropped stream or an older server: try again a little later
        }
        if (!abort.signal.aborted) {
          await new Promise(resolve => setTimeout(resolve, this.reconnectMs));
        }
      }
    };
    void loop();
  }

  /** Milliseconds before the change stream is reopened after it dropped. */
  reconnectMs = 3000;

  /** Reload the parts that changed (and the results they affect). */
  async reload(parts: events.ChangedPart[]): Promise<void> {
    const work: Promise<void>[] = [];
    if (parts.includes('installed')) {
      work.push(this.loadInstalled(), this.loadHost());
    }
    if (parts.includes('mirrors') || parts.includes('keys')) {
      work.push(this.loadMirrors(), this.loadKeys());
    }
    if (parts.includes('mirrors')) {
      work.push(this.search.run());
    }
    if (parts.includes('kernels')) {
      this._kernelsChanged.emit();
    }
    await Promise.all(work);
  }

  loadHost(): Promise<void> {
    return this._load('host', () => api.fetchHost(this._settings));
  }

  loadMirrors(): Promise<void> {
    return this._load('mirrors', () => api.fetchMirrors(this._settings));
  }

  loadKeys(): Promise<void> {
    return this._load('keys', () => api.fetchKeys(this._settings));
  }

  loadInstalled(): Promise<void> {
    return this._load('installed', () => api.fetchInstalled(this._settings));
  }

  /** Follow the newest queued or running task, if any (after a page reload). */
  async reattach(): Promise<void> {
    if (this._tracker !== null) {
      return;
    }
    try {
      const tasks = await api.fetchTasks(this._settings, 10);
      const active = tasks.filter(t => isActive(t.state));
      const running = active.find(t => (t.kind ?? 'install') === 'install');
      if (running !== undefined) {
        this._track(running);
      }
      const demo = active.find(t => t.kind === 'demo-mirror');
      if (demo !== undefined && this._state.firstRun.busy === null) {
        void this.firstRun.follow(demo);
      }
    } catch {
      // the task list is a convenience; the rest of the panel still works
    }
  }

  // ---- choosing -------------------------------------------------------------------------

  /** Open a package from the results; the build the resolver would install is chosen. */
  select(group: IPackageGroup | null): Promise<void> {
    this._set({ selected: group, build: null, detail: idle(), plan: null });
    const best = group === null ? null : bestBuild(group);
    if (best === null) {
      return Promise.resolve();
    }
    return this.chooseBuild(best.hash);
  }

  /** Choose one build of the open package and load its details. */
  async chooseBuild(hash: string): Promise<void> {
    this._set({
      build: hash,
      detail: { value: null, loading: true, error: null }
    });
    try {
      const detail = await api.fetchSpec(this._settings, hash);
      if (this._state.build === hash) {
        this._set({ detail: idle(detail) });
      }
    } catch (reason) {
      if (this._state.build === hash) {
        this._set({
          detail: {
            value: null,
            loading: false,
            error: api.describeError(reason)
          }
        });
      }
    }
  }

  /** The spec string that installs exactly the chosen build. */
  chosenSpec(): string | null {
    const group = this._state.selected;
    const build = group?.builds.find(b => b.hash === this._state.build);
    if (group === undefined || group === null || build === undefined) {
      return null;
    }
    return `${group.name}@${build.version}/${build.hash}`;
  }

  setKernel(kernel: boolean): void {
    this._set({ kernel });
  }

  // ---- installing -----------------------------------------------------------------------

  /** Ask for the plan of `specs` (the chosen build when omitted); nothing is installed yet. */
  async requestPlan(specs?: string[]): Promise<void> {
    const chosen = this.chosenSpec();
    const wanted = specs ?? (chosen !== null ? [chosen] : []);
    if (wanted.length === 0) {
      return;
    }
    this._set({
      plan: { specs: wanted, plan: { value: null, loading: true, error: null } }
    });
    try {
      const plan = await api.fetchPlan(this._settings, wanted);
      if (this._state.plan?.specs === wanted) {
        this._set({ plan: { specs: wanted, plan: idle(plan) } });
      }
    } catch (reason) {
      if (this._state.plan?.specs === wanted) {
        const error = api.describeError(reason);
        this._set({
          plan: { specs: wanted, plan: { value: null, loading: false, error } }
        });
      }
    }
  }

  /** Close the plan without installing. */
  dismissPlan(): void {
    this._set({ plan: null });
  }

  /** The user confirmed the plan: start the install task and follow it. */
  async confirmInstall(): Promise<void> {
    const pending = this._state.plan;
    if (pending === null) {
      return;
    }
    try {
      const task = await api.startInstall(
        this._settings,
        pending.specs,
        this._state.kernel
      );
      this._set({ plan: null, notice: null });
      this._track(task);
    } catch (reason) {
      this._error(reason);
    }
  }

  /**
   * Install a spack.lock / spack.yaml / notebook lock of the file tree
   * (`path` relative to the server root): the server checks it against the
   * mirrors first, so a refusal is a notice and no task.
   */
  async installFromFile(path: string): Promise<void> {
    try {
      const task = await api.startInstallFromFile(
        this._settings,
        path,
        this._state.kernel
      );
      this._set({ plan: null });
      this._info(fileTaskNotice(task.file, this._trans));
      this._track(task);
    } catch (reason) {
      this._error(reason);
    }
  }

  /** Cancel the running install (the server rolls it back). */
  async cancelInstall(): Promise<void> {
    const progress = this._state.install;
    if (progress === null || !isActive(progress.state)) {
      return;
    }
    try {
      await api.cancelTask(this._settings, progress.taskId);
    } catch (reason) {
      this._error(reason);
    }
  }

  /** Hide a finished install's bars. */
  clearInstall(): void {
    if (this._state.install !== null && !isActive(this._state.install.state)) {
      this._set({ install: null });
    }
  }

  // ---- installed ------------------------------------------------------------------------

  /** Uninstall one package; `dependents` also removes the installed packages that need it. */
  async uninstall(
    record: IInstalledRecord,
    dependents = false
  ): Promise<boolean> {
    try {
      const { removed } = await api.uninstall(
        this._settings,
        record.hash,
        dependents
      );
      const names = removed.map(r => shortSpec(r.name, r.version, r.hash));
      this._info(this._trans.__('Removed %1', names.join(', ')));
      await Promise.all([this.loadInstalled(), this.loadHost()]);
      return true;
    } catch (reason) {
      this._error(reason);
      return false;
    }
  }

  /**
   * What uninstalling `record` would remove (packages, kernels), removing
   * nothing: for the confirmation to name the consequences.
   */
  previewUninstall(
    record: IInstalledRecord,
    dependents = false
  ): Promise<api.IRemoval> {
    return api.uninstall(this._settings, record.hash, dependents, true);
  }

  /** What gc would remove, removing nothing. */
  previewGc(): Promise<api.IRemoval> {
    return api.collectGarbage(this._settings, true);
  }

  /** Remove dependencies that no explicitly installed package needs. */
  async gc(): Promise<void> {
    try {
      const { removed } = await api.collectGarbage(this._settings);
      this._info(
        removed.length === 0
          ? this._trans.__(
              'Nothing to collect: every dependency is still needed'
            )
          : this._trans._n(
              'Removed %1 unneeded package',
              'Removed %1 unneeded packages',
              removed.length
            )
      );
      await Promise.all([this.loadInstalled(), this.loadHost()]);
    } catch (reason) {
      this._error(reason);
    }
  }

  /**
   * Make a Jupyter kernel of an installed stack: an install of exactly that
   * build with the kernel flag (everything is reused, nothing downloaded).
   */
  async registerKernel(record: IInstalledRecord): Promise<void> {
    try {
      const spec = `${record.name}@${record.version}/${record.hash}`;
      this._track(await api.startInstall(this._settings, [spec], true));
    } catch (reason) {
      this._error(reason);
    }
  }

  // ---- mirrors and keys -----------------------------------------------------------------

  async addMirror(
    name: string,
    url: string,
    unsigned: boolean
  ): Promise<boolean> {
    this._set({ mirrorError: null });
    try {
      const mirror = await api.addMirror(this._settings, name, url, unsigned);
      this._info(this._trans.__('Added mirror %1', mirror.name));
      await this._mirrorsChanged();
      if (mirror.signed) {
        await this.previewKeys(mirror.name);
      }
      return true;
    } catch (reason) {
      this._set({ mirrorError: api.describeError(reason) });
      return false;
    }
  }

  async removeMirror(name: string): Promise<void> {
    try {
      await api.removeMirror(this._settings, name);
      this._info(this._trans.__('Removed mirror %1', name));
      await this._mirrorsChanged();
    } catch (reason) {
      this._error(reason);
    }
  }

  /** Show a mirror's keys (fingerprint, user IDs) before anything is trusted. */
  async previewKeys(mirror: string): Promise<void> {
    this._set({ keyPreview: { value: null, loading: true, error: null } });
    try {
      this._set({
        keyPreview: idle(await api.previewKeys(this._settings, mirror))
      });
    } catch (reason) {
      this._set({
        keyPreview: {
          value: null,
          loading: false,
          error: api.describeError(reason)
        }
      });
    }
  }

  /** Trust exactly the fingerprints the user saw and ticked. */
  async trustKeys(mirror: string, fingerprints: string[]): Promise<void> {
    try {
      const result = await api.trustKeys(this._settings, mirror, fingerprints);
      this._info(
        this._trans._n(
          'Trusted %1 key for %2',
          'Trusted %1 keys for %2',
          result.keys.length,
          mirror
        )
      );
      this._set({ keyPreview: null });
      await Promise.all([this.loadKeys(), this.search.run()]);
    } catch (reason) {
      this._error(reason);
    }
  }

  /** Stop trusting a key; the badges of the mirrors it signs turn to "not trusted". */
  async untrustKey(fingerprint: string): Promise<void> {
    try {
      await api.untrustKey(this._settings, fingerprint);
      this._info(this._trans.__('No longer trusting key %1', fingerprint));
      await Promise.all([this.loadKeys(), this.loadMirrors()]);
    } catch (reason) {
      this._error(reason);
    }
  }

  closeKeyPreview(): void {
    this._set({ keyPreview: null });
  }

  dismissNotice(): void {
    this._set({ notice: null });
  }

  // ---- internals ------------------------------------------------------------------------

  /** After a first-run offer added a mirror: reload, then review its key if untrusted. */
  private async _offerAdded(mirror: IMirror | null): Promise<void> {
    this._info(
      mirror === null
        ? this._trans.__('The demo mirror is ready: search for demo-tool')
        : this._trans.__('Added mirror %1', mirror.name)
    );
    await Promise.all([this._mirrorsChanged(), this.loadKeys()]);
    if (mirror !== null && mirror.signed && mirror.trust?.state !== 'trusted') {
      await this.previewKeys(mirror.name);
    }
  }

  private async _mirrorsChanged(): Promise<void> {
    await Promise.all([this.loadMirrors(), this.search.run()]);
  }

  private _track(task: ITask): void {
    this._tracker?.stop();
    const tracker = new TaskTracker(this._transport(), task, {
      pollMs: this.pollMs
    });
    this._tracker = tracker;
    this._set({ install: tracker.progress, polling: false });
    // byte updates can arrive many times a second per package: redraw at most every frameMs
    let timer: ReturnType<typeof setTimeout> | null = null;
    const flush = (): void => {
      if (timer !== null) {
        clearTimeout(timer);
        timer = null;
      }
      if (this._tracker === tracker) {
        this._set({ install: tracker.progress, polling: tracker.polling });
      }
    };
    tracker.changed.connect(() => {
      if (timer === null) {
        timer = setTimeout(flush, this.frameMs);
      }
    });
    void tracker.follow().then(async progress => {
      flush();
      if (this._tracker !== tracker || this._disposed) {
        return;
      }
      this._tracker = null;
      this._taskFinished.emit(progress);
      await Promise.all([this.loadInstalled(), this.loadHost()]);
    });
  }

  private _transport(): ITaskTransport {
    const settings = this._settings;
    return {
      fetch: id => api.fetchTask(settings, id),
      stream: (id, onEvent, options) =>
        events.streamTaskEvents(settings, id, onEvent, options)
    };
  }

  private async _load<K extends 'host' | 'mirrors' | 'keys' | 'installed'>(
    key: K,
    fetcher: () => Promise<NonNullable<ISpackState[K]['value']>>
  ): Promise<void> {
    const previous = this._state[key].value;
    this._set({
      [key]: { value: previous, loading: true, error: null }
    } as Partial<ISpackState>);
    try {
      const value = await fetcher();
      this._set({ [key]: idle(value) } as Partial<ISpackState>);
    } catch (reason) {
      const error = api.describeError(reason);
      this._set({
        [key]: { value: previous, loading: false, error }
      } as Partial<ISpackState>);
    }
  }

  private _info(message: string): void {
    this._set({ notice: { kind: 'info', message, hint: null } });
  }

  private _error(reason: unknown): void {
    const { message, hint, code } = api.describeError(reason);
    this._set({ notice: { kind: 'error', message, hint, code } });
  }

  private _set(patch: Partial<ISpackState>): void {
    if (this._disposed) {
      return;
    }
    this._state = { ...this._state, ...patch };
    this._changed.emit(this._state);
  }

  private readonly _settings: ServerConnection.ISettings;
  private readonly _trans: TranslationBundle;
  private readonly _changed = new Signal<this, ISpackState>(this);
  private readonly _taskFinished = new Signal<this, IInstallProgress>(this);
  private readonly _kernelsChanged = new Signal<this, void>(this);
  private _state: ISpackState;
  private _tracker: TaskTracker | null = null;
  private _following: AbortController | null = null;
  private _disposed = false;
}
