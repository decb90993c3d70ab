/**
 * Progress reduction: task snapshots and progress events folded into the
 * per-package bars and the overall bar the install view draws.
 *
 * Pure functions over immutable values. The same fold serves the live event
 * stream, the polling fallback (whole snapshots) and a page reload that
 * re-attaches to a running task, so all three draw the same bars.
 */
import {
  IErrorInfo,
  INodeProgress,
  IProgressEvent,
  ITask,
  Stage,
  TaskState
} from '../api';

/** Where each stage puts a package's bar; a download fills its own share by bytes. */
const STAGE_START: Record<Stage, number> = {
  queued: 0,
  download: 0,
  verify: 0.7,
  extract: 0.8,
  unpacked: 0.85,
  relocate: 0.9,
  done: 1,
  reused: 1,
  external: 1,
  failed: 0,
  cancelled: 0
};

/** The share of a package's bar that its download fills. */
const DOWNLOAD_SHARE = 0.7;

/** Stages that mean a package needs no (more) work. */
const SETTLED: ReadonlySet<Stage> = new Set<Stage>([
  'done',
  'reused',
  'external',
  'failed',
  'cancelled'
]);

/** Stages after the download (its bytes are all there). */
const PAST_DOWNLOAD: ReadonlySet<Stage> = new Set<Stage>([
  'verify',
  'extract',
  'unpacked',
  'relocate',
  'done'
]);

/** One package's bar. */
export interface INodeBar {
  hash: string;
  name: string;
  version: string;
  stage: Stage;
  /** Bytes downloaded so far (all of them once past the download). */
  downloaded: number;
  /** Tarball size when known. */
  size: number | null;
  /** 0–1. */
  fraction: number;
  /** The last one-line note for this package (the reason when it failed). */
  message: string | null;
}

/** What the install view shows for one task. */
export interface IInstallProgress {
  taskId: string;
  specs: string[];
  state: TaskState;
  bars: INodeBar[];
  error: IErrorInfo | null;
  /** Whole-install notes from the stream, e.g. "kernel 'spack-zlib-1.3-abcdefg' ready". */
  notes: string[];
  /** Id of the last stream event folded in (to resume the stream after it). */
  lastEventId: number | null;
}

/** The whole install at a glance. */
export interface IOverall {
  /** 0–1, each package weighted by its size (packages of unknown size count as the mean). */
  fraction: number;
  downloaded: number;
  /** Null while some size is unknown. */
  downloadTotal: number | null;
  /** Packages with work to do, and how many of those are finished. */
  packages: number;
  finished: number;
}

/** Whether the task can still change. */
export function isActive(state: TaskState): boolean {
  return state === 'queued' || state === 'running';
}

/** A package's bar position from its stage and byte counts. */
export function stageFraction(
  stage: Stage,
  done: number,
  total: number | null
): number {
  if (stage === 'download') {
    if (total === null || total <= 0) {
      return 0;
    }
    return DOWNLOAD_SHARE * Math.min(1, Math.max(0, done / total));
  }
  return STAGE_START[stage];
}

function downloadedBytes(
  stage: Stage,
  done: number,
  size: number | null
): number {
  if (stage === 'download') {
    return done;
  }
  return PAST_DOWNLOAD.has(stage) ? (size ?? done) : 0;
}

function bar(
  hash: string,
  name: string,
  version: string,
  stage: Stage,
  done: number,
  size: number | null,
  previous: INodeBar | undefined,
  message: string | null
): INodeBar {
  // a failed or cancelled package keeps the bar where it stopped
  const fraction =
    stage === 'failed' || stage === 'cancelled'
      ? (previous?.fraction ?? 0)
      : stageFraction(stage, done, size);
  return {
    hash,
    name,
    version,
    stage,
    downloaded: downloadedBytes(stage, done, size),
    size,
    fraction,
    message: message ?? previous?.message ?? null
  };
}

function barFromNode(node: INodeProgress, previous?: INodeBar): INodeBar {
  const size = node.bytes_total ?? previous?.size ?? null;
  return bar(
    node.hash,
    node.name,
    node.version,
    node.stage,
    node.bytes_done,
    size,
    previous,
    null
  );
}

/** The progress of a task as one snapshot shows it (a fresh attach, or a poll). */
export function fromTask(
  task: ITask,
  lastEventId: number | null = null
): IInstallProgress {
  return {
    taskId: task.id,
    specs: task.specs,
    state: task.state,
    bars: task.nodes.map(n => barFromNode(n)),
    error: task.error,
    notes: [],
    lastEventId
  };
}

/**
 * Fold a task snapshot in: its state and error win, and its nodes replace
 * ours, keeping the notes (messages) that only events carry.
 */
export function applyTask(
  progress: IInstallProgress,
  task: ITask,
  eventId: number | null = null
): IInstallProgress {
  if (task.id !== progress.taskId) {
    return progress;
  }
  const previous = new Map(progress.bars.map(b => [b.hash, b]));
  return {
    ...progress,
    state: task.state,
    error: task.error,
    bars: task.nodes.map(n => barFromNode(n, previous.get(n.hash))),
    lastEventId: eventId ?? progress.lastEventId
  };
}

/** Fold one progress event in (a new package is appended in arrival order). */
export function applyProgress(
  progress: IInstallProgress,
  event: IProgressEvent,
  eventId: number | null = null
): IInstallProgress {
  if (event.task !== progress.taskId) {
    return progress;
  }
  const lastEventId = eventId ?? progress.lastEventId;
  if (!event.hash) {
    // a whole-install note: no bar, but worth a line
    const notes = event.message
      ? [...progress.notes, event.message]
      : progress.notes;
    return { ...progress, notes, lastEventId };
  }
  const index = progress.bars.findIndex(b => b.hash === event.hash);
  const previous = index >= 0 ? progress.bars[index] : undefined;
  const size = event.bytes_total ?? previous?.size ?? null;
  const next = bar(
    event.hash,
    event.name,
    event.version,
    event.stage,
    event.bytes_done,
    size,
    previous,
    event.message
  );
  const bars =
    index >= 0
      ? progress.bars.map((b, i) => (i === index ? next : b))
      : [...progress.bars, next];
  return { ...progress, bars, lastEventId };
}

/** The overall bar: only packages with work to do (reused and externals are free). */
export function overall(progress: IInstallProgress): IOverall {
  const work = progress.bars.filter(
    b => b.stage !== 'reused' && b.stage !== 'external'
  );
  if (work.length === 0) {
    const fraction = progress.state === 'done' ? 1 : 0;
    return {
      fraction,
      downloaded: 0,
      downloadTotal: 0,
      packages: 0,
      finished: 0
    };
  }
  const known = work.filter(b => b.size !== null && b.size > 0);
  const mean =
    known.length > 0
      ? known.reduce((sum, b) => sum + (b.size ?? 0), 0) / known.length
      : 1;
  let weighted = 0;
  let weights = 0;
  for (const b of work) {
    const weight = b.size !== null && b.size > 0 ? b.size : mean;
    weighted += weight * b.fraction;
    weights += weight;
  }
  const downloadTotal =
    known.length === work.length
      ? work.reduce((sum, b) => sum + (b.size ?? 0), 0)
      : null;
  return {
    fraction: progress.state === 'done' ? 1 : weighted / weights,
    downloaded: work.reduce((sum, b) => sum + b.downloaded, 0),
    downloadTotal,
    packages: work.length,
    finished: work.filter(b => SETTLED.has(b.stage)).length
  };
}
