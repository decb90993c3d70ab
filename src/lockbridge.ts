/**
 * The notebook lock bridge: `%spack lock` in a kernel opens a comm to the
 * target `jupyter_spackcache.lock` with the lock document; this side checks
 * it and keeps it in the notebook's metadata (`spackcache.lock`), so the lock
 * travels with the .ipynb, then answers `{saved: true}`. The pure parts
 * (`lockMetadata`) are kept apart from the kernel wiring (`LockBridge`).
 */
import { ISessionContext } from '@jupyterlab/apputils';
import { Kernel, KernelMessage } from '@jupyterlab/services';

/** The comm target the kernel side (`magics/lockbridge.py`) opens. */
export const LOCK_COMM_TARGET = 'jupyter_spackcache.lock';

/** The notebook metadata key; its value is `{lock: <lock document>}`. */
export const METADATA_KEY = 'spackcache';

/** The lock document's format tag and the version this frontend understands. */
export const LOCK_FORMAT = 'jupyter-spackcache-lock';
export const LOCK_VERSION = 1;

/** One locked build (a DAG node). */
export interface ILockedNode {
  name: string;
  version: string;
  hash: string;
  target: string;
  mirror: string | null;
  root: boolean;
}

/** A mirror the locked builds came from. */
export interface ILockMirror {
  name: string;
  url: string;
}

/** The lock document, as `ops/lock.py` writes it. */
export interface INotebookLock {
  format: typeof LOCK_FORMAT;
  version: typeof LOCK_VERSION;
  created: number;
  host: string;
  mirrors: ILockMirror[];
  nodes: ILockedNode[];
}

/** The value stored under `metadata.spackcache`. */
export interface ISpackcacheMetadata {
  lock: INotebookLock;
}

/** The outcome of checking a payload: the metadata value, or why it was refused. */
export type LockCheck =
  { ok: true; value: ISpackcacheMetadata } | { ok: false; reason: string };

/** The part of a notebook model the bridge writes to (JupyterLab 4's `NotebookModel`). */
export interface IMetadataModel {
  setMetadata(key: string, value: ISpackcacheMetadata): void;
}

type Fields = { [key: string]: unknown };

function isFields(value: unknown): value is Fields {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isString(value: unknown): value is string {
  return typeof value === 'string';
}

/** A DAG hash as Spack prints it: 32 base32 characters. */
const HASH = /^[a-z2-7]{32}$/;

function node(value: unknown, index: number): ILockedNode | string {
  if (!isFields(value)) {
    return `node ${index} is not an object`;
  }
  const { name, version, hash, target, mirror, root } = value;
  if (!isString(name) || !isString(version) || !isString(target)) {
    return `node ${index} needs string name, version and target`;
  }
  if (!isString(hash) || !HASH.test(hash)) {
    return `node ${index} (${name}) has no valid DAG hash`;
  }
  if (!(mirror === null || isString(mirror)) || typeof root !== 'boolean') {
    return `node ${index} (${name}) has a bad mirror or root field`;
  }
  return { name, version, hash, target, mirror, root };
}

function mirrorOf(value: unknown, index: number): ILockMirror | string {
  if (!isFields(value) || !isString(value.name) || !isString(value.url)) {
    return `mirror ${index} needs string name and url`;
  }
  return { name: value.name, url: value.url };
}

/**
 * Check a comm payload and build the metadata value from it. Only the known
 * fields are copied, so nothing else a kernel sends lands in the notebook.
 */
export function lockMetadata(payload: unknown): LockCheck {
  if (!isFields(payload) || payload.format !== LOCK_FORMAT) {
    return { ok: false, reason: 'not a jupyter-spackcache lock' };
  }
  if (payload.version !== LOCK_VERSION) {
    return {
      ok: false,
      reason: `lock version ${JSON.stringify(payload.version)}; this extension reads ${LOCK_VERSION}`
    };
  }
  const { created, host, nodes, mirrors } = payload;
  if (typeof created !== 'number' || !isString(host)) {
    return { ok: false, reason: 'the lock needs a numeric created and a host' };
  }
  if (!Array.isArray(nodes) || nodes.length === 0) {
    return { ok: false, reason: 'the lock lists no builds' };
  }
  if (!Array.isArray(mirrors)) {
    return { ok: false, reason: 'the lock has no mirror list' };
  }
  const checkedNodes: ILockedNode[] = [];
  for (const [index, item] of nodes.entries()) {
    const checked = node(item, index);
    if (isString(checked)) {
      return { ok: false, reason: checked };
    }
    checkedNodes.push(checked);
  }
  const checkedMirrors: ILockMirror[] = [];
  for (const [index, item] of mirrors.entries()) {
    const checked = mirrorOf(item, index);
    if (isString(checked)) {
      return { ok: false, reason: checked };
    }
    checkedMirrors.push(checked);
  }
  const lock: INotebookLock = {
    format: LOCK_FORMAT,
    version: LOCK_VERSION,
    created,
    host,
    mirrors: checkedMirrors,
    nodes: checkedNodes
  };
  return { ok: true, value: { lock } };
}

/** Narrow a document model to one with notebook metadata. */
export function hasMetadata(model: object): model is IMetadataModel {
  return (
    'setMetadata' in model &&
    typeof (model as { setMetadata: unknown }).setMetadata === 'function'
  );
}

/**
 * Keeps the comm target registered on a notebook's kernel, also after the
 * kernel is changed (a restart keeps the same connection and its targets).
 */
export class LockBridge {
  constructor(
    private readonly _session: ISessionContext,
    private readonly _model: IMetadataModel
  ) {
    _session.kernelChanged.connect(this._onKernelChanged, this);
    this._register(_session.session?.kernel ?? null);
  }

  get isDisposed(): boolean {
    return this._isDisposed;
  }

  dispose(): void {
    if (this._isDisposed) {
      return;
    }
    this._isDisposed = true;
    this._session.kernelChanged.disconnect(this._onKernelChanged, this);
    this._register(null);
  }

  private _onKernelChanged(
    _: ISessionContext,
    change: { newValue: Kernel.IKernelConnection | null }
  ): void {
    this._register(change.newValue);
  }

  private _register(kernel: Kernel.IKernelConnection | null): void {
    if (this._kernel !== null && !this._kernel.isDisposed) {
      this._kernel.removeCommTarget(LOCK_COMM_TARGET, this._onOpen);
    }
    this._kernel = kernel;
    kernel?.registerCommTarget(LOCK_COMM_TARGET, this._onOpen);
  }

  private readonly _onOpen = (
    comm: Kernel.IComm,
    msg: KernelMessage.ICommOpenMsg
  ): void => {
    const check = lockMetadata(msg.content.data);
    if (check.ok) {
      this._model.setMetadata(METADATA_KEY, check.value); // also marks the notebook dirty
      comm.send({ saved: true });
    } else {
      console.warn(`jupyter-spackcache: lock not stored: ${check.reason}`);
      comm.send({ saved: false, error: check.reason });
    }
  };

  private _isDisposed = false;
  private _kernel: Kernel.IKernelConnection | null = null;
}
