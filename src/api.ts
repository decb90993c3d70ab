/**
 * Typed client for the jupyter-spackcache server extension's REST API
 * (`<base_url>/spackcache/api/`, see `docs/openapi.yaml`).
 *
 * One function per endpoint; the shapes are in `types.ts` (re-exported here).
 * Bodies are checked for their required keys only: enough to turn a
 * frontend/server version mismatch into a one-line error instead of a blank view.
 */
import { URLExt } from '@jupyterlab/coreutils';
import { ServerConnection } from '@jupyterlab/services';

/** Path of the API below the server's base URL (matches the Python routes). */
export const API_NAMESPACE = 'spackcache/api';

import {
  IErrorInfo,
  IFileTask,
  IHost,
  IInstalledRecord,
  IKey,
  IMirror,
  IMirrorKeys,
  IPlan,
  IRemoval,
  ISpecDetail,
  ISpecPage,
  IStatus,
  ITask
} from './types';

export * from './types';

// ---- errors ---------------------------------------------------------------------------

/**
 * A request the server refused or could not do, with its one-line reason,
 * stable code and hint (the server's `{"error": {code, message, hint}}`).
 */
export class SpackApiError extends Error {
  constructor(
    readonly status: number,
    readonly info: IErrorInfo
  ) {
    super(info.message);
    this.name = 'SpackApiError';
  }

  get code(): string {
    return this.info.code;
  }

  get hint(): string | null {
    return this.info.hint;
  }
}

/**
 * The error info of a failed response body: the extension's
 * `{"error": {...}}`, Jupyter's `{"message": ...}`, the raw text, or the status.
 */
export function errorInfo(status: number, text: string): IErrorInfo {
  const fallback = text.trim().length > 0 ? text.trim() : `HTTP ${status}`;
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return { code: 'http', message: fallback, hint: null };
  }
  if (isObject(body)) {
    const nested = body.error;
    if (isObject(nested) && typeof nested.message === 'string') {
      return {
        code: typeof nested.code === 'string' ? nested.code : 'http',
        message: nested.message,
        hint: typeof nested.hint === 'string' ? nested.hint : null
      };
    }
    if (typeof body.message === 'string' && body.message.length > 0) {
      return { code: 'http', message: body.message, hint: null };
    }
  }
  return { code: 'http', message: fallback, hint: null };
}

/** The one-line message of a failed request (kept for callers that need text only). */
export function errorMessage(status: number, text: string): string {
  return errorInfo(status, text).message;
}

/** Message and hint of anything thrown by this module (or by fetch). */
export function describeError(reason: unknown): IErrorInfo {
  if (reason instanceof SpackApiError) {
    return reason.info;
  }
  if (reason instanceof ServerConnection.NetworkError) {
    return {
      code: 'network',
      message: reason.message,
      hint: 'check that the Jupyter server is still running'
    };
  }
  const message = reason instanceof Error ? reason.message : String(reason);
  return { code: 'internal', message, hint: null };
}

// ---- plumbing -------------------------------------------------------------------------

/**
 * Full URL of an API endpoint, e.g. `apiUrl('/user/x/', 'status')` is
 * `/user/x/spackcache/api/status`.
 */
export function apiUrl(
  baseUrl: string,
  endpoint: string,
  query: Record<string, string | number | boolean | null | undefined> = {}
): string {
  const url = URLExt.join(baseUrl, API_NAMESPACE, endpoint);
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) {
    if (value !== null && value !== undefined && value !== '') {
      params.set(key, String(value));
    }
  }
  const search = params.toString();
  return search.length > 0 ? `${url}?${search}` : url;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * `body` as an object with every key of `keys`, else a one-line error naming
 * what is missing (a server of another version answered).
 */
export function expectObject<T>(
  body: unknown,
  keys: readonly string[],
  what: string
): T {
  if (!isObject(body)) {
    throw new Error(`Invalid ${what} response: expected a JSON object.`);
  }
  const missing = keys.filter(k => !(k in body));
  if (missing.length > 0) {
    throw new Error(`Invalid ${what} response: missing ${missing.join(', ')}.`);
  }
  return body as T;
}

/** `body` as an array whose items have `keys`. */
export function expectArray<T>(
  body: unknown,
  keys: readonly string[],
  what: string
): T[] {
  if (!Array.isArray(body)) {
    throw new Error(`Invalid ${what} response: expected a JSON array.`);
  }
  return body.map(item => expectObject<T>(item, keys, what));
}

/** Check the shape of a status body (strictly: it is the version handshake). */
export function parseStatus(body: unknown): IStatus {
  if (!isObject(body)) {
    throw new Error('Invalid status response: expected a JSON object.');
  }
  const { version, ok } = body;
  if (typeof version !== 'string' || typeof ok !== 'boolean') {
    throw new Error(
      'Invalid status response: expected string "version" and boolean "ok".'
    );
  }
  return { version, ok };
}

export async function send(
  url: string,
  settings: ServerConnection.ISettings,
  init: RequestInit
): Promise<Response> {
  try {
    return await ServerConnection.makeRequest(url, init, settings);
  } catch (error) {
    throw new ServerConnection.NetworkError(error as TypeError);
  }
}

/** Call an API endpoint and return its parsed JSON body. */
export async function requestAPI(
  endpoint: string,
  settings: ServerConnection.ISettings,
  init: RequestInit = {},
  query: Record<string, string | number | boolean | null | undefined> = {}
): Promise<unknown> {
  const response = await send(
    apiUrl(settings.baseUrl, endpoint, query),
    settings,
    init
  );
  const text = await response.text();
  if (!response.ok) {
    throw new SpackApiError(response.status, errorInfo(response.status, text));
  }
  return text.length > 0 ? (JSON.parse(text) as unknown) : null;
}

function postJSON(body: object): RequestInit {
  return { method: 'POST', body: JSON.stringify(body) };
}

export const TASK_KEYS = ['id', 'state', 'nodes', 'specs'] as const;
const RECORD_KEYS = ['hash', 'name', 'version', 'explicit'] as const;
const KEY_KEYS = ['fingerprint', 'uids'] as const;

// ---- endpoints ------------------------------------------------------------------------

/** `GET /status`. */
export async function fetchStatus(
  settings: ServerConnection.ISettings
): Promise<IStatus> {
  return parseStatus(await requestAPI('status', settings));
}

/** `GET /host`. */
export async function fetchHost(
  settings: ServerConnection.ISettings
): Promise<IHost> {
  return expectObject<IHost>(
    await requestAPI('host', settings),
    ['target', 'compatible_targets', 'install_root'],
    'host'
  );
}

/** `GET /mirrors`. */
export async function fetchMirrors(
  settings: ServerConnection.ISettings
): Promise<IMirror[]> {
  return expectArray<IMirror>(
    await requestAPI('mirrors', settings),
    ['name', 'url', 'signed'],
    'mirrors'
  );
}

/** `POST /mirrors`: add a mirror (the site policy may refuse: 403 with its reason). */
export async function addMirror(
  settings: ServerConnection.ISettings,
  name: string,
  url: string,
  unsigned = false
): Promise<IMirror> {
  return expectObject<IMirror>(
    await requestAPI('mirrors', settings, postJSON({ name, url, unsigned })),
    ['name', 'url'],
    'mirror'
  );
}

/** `POST /mirrors {preset}`: add a mirror the site offers, as the site describes it. */
export async function addPreset(
  settings: ServerConnection.ISettings,
  preset: string
): Promise<IMirror> {
  return expectObject<IMirror>(
    await requestAPI('mirrors', settings, postJSON({ preset })),
    ['name', 'url'],
    'mirror'
  );
}

/** `POST /demo-mirror`: the task that builds, adds and trusts the demo mirror. */
export async function startDemoMirror(
  settings: ServerConnection.ISettings
): Promise<ITask> {
  return expectObject<ITask>(
    await requestAPI('demo-mirror', settings, postJSON({})),
    ['id', 'state'],
    'task'
  );
}

/** `DELETE /mirrors/{name}`. */
export async function removeMirror(
  settings: ServerConnection.ISettings,
  name: string
): Promise<IMirror> {
  return expectObject<IMirror>(
    await requestAPI(`mirrors/${encodeURIComponent(name)}`, settings, {
      method: 'DELETE'
    }),
    ['name'],
    'mirror'
  );
}

/** `GET /keys`: the keys this user trusts. */
export async function fetchKeys(
  settings: ServerConnection.ISettings
): Promise<IKey[]> {
  return expectArray<IKey>(
    await requestAPI('keys', settings),
    KEY_KEYS,
    'keys'
  );
}

/** `POST /keys/trust {mirror, preview: true}`: a mirror's keys, importing nothing. */
export async function previewKeys(
  settings: ServerConnection.ISettings,
  mirror: string
): Promise<IMirrorKeys> {
  return expectObject<IMirrorKeys>(
    await requestAPI(
      'keys/trust',
      settings,
      postJSON({ mirror, preview: true })
    ),
    ['mirror', 'keys'],
    'keys'
  );
}

/** `POST /keys/trust {mirror, fingerprints}`: trust exactly these keys. */
export async function trustKeys(
  settings: ServerConnection.ISettings,
  mirror: string,
  fingerprints: string[]
): Promise<IMirrorKeys> {
  return expectObject<IMirrorKeys>(
    await requestAPI(
      'keys/trust',
      settings,
      postJSON({ mirror, fingerprints })
    ),
    ['mirror', 'keys'],
    'keys'
  );
}

/** `DELETE /keys/{fingerprint}`: stop trusting a key. */
export async function untrustKey(
  settings: ServerConnection.ISettings,
  fingerprint: string
): Promise<IKey> {
  return expectObject<IKey>(
    await requestAPI(`keys/${encodeURIComponent(fingerprint)}`, settings, {
      method: 'DELETE'
    }),
    KEY_KEYS,
    'key'
  );
}

/** `GET /specs?q=&page=&per_page=`: installable builds grouped by package. */
export async function searchSpecs(
  settings: ServerConnection.ISettings,
  query: string,
  page = 1,
  perPage = 25,
  refresh = false
): Promise<ISpecPage> {
  const body = await requestAPI(
    'specs',
    settings,
    {},
    { q: query.trim(), page, per_page: perPage, refresh: refresh || null }
  );
  return expectObject<ISpecPage>(body, ['items', 'page', 'has_more'], 'search');
}

/** `GET /specs/{hash}`: one build and its runtime dependencies. */
export async function fetchSpec(
  settings: ServerConnection.ISettings,
  hash: string
): Promise<ISpecDetail> {
  return expectObject<ISpecDetail>(
    await requestAPI(`specs/${encodeURIComponent(hash)}`, settings),
    ['root', 'nodes', 'compatible'],
    'spec'
  );
}

/** `POST /plan {specs}`: what installing `specs` would do, with prechecks. */
export async function fetchPlan(
  settings: ServerConnection.ISettings,
  specs: string[]
): Promise<IPlan> {
  return expectObject<IPlan>(
    await requestAPI('plan', settings, postJSON({ specs })),
    ['nodes', 'checks', 'ok', 'download_bytes'],
    'plan'
  );
}

/** `POST /installs {specs, kernel}`: start an install task (202). */
export async function startInstall(
  settings: ServerConnection.ISettings,
  specs: string[],
  kernel = false
): Promise<ITask> {
  return expectObject<ITask>(
    await requestAPI('installs', settings, postJSON({ specs, kernel })),
    TASK_KEYS,
    'task'
  );
}

/**
 * `POST /installs/from-file {path, kernel}`: install a spack.lock, spack.yaml
 * or notebook lock from the Jupyter file tree (202; refused with a one-line
 * error, and no task, when a locked build is in no mirror).
 */
export async function startInstallFromFile(
  settings: ServerConnection.ISettings,
  path: string,
  kernel = false
): Promise<IFileTask> {
  return expectObject<IFileTask>(
    await requestAPI(
      'installs/from-file',
      settings,
      postJSON({ path, kernel })
    ),
    [...TASK_KEYS, 'file'],
    'task'
  );
}

/** `GET /tasks?limit=`: recent tasks, newest first, without logs. */
export async function fetchTasks(
  settings: ServerConnection.ISettings,
  limit = 10
): Promise<ITask[]> {
  return expectArray<ITask>(
    await requestAPI('tasks', settings, {}, { limit }),
    TASK_KEYS,
    'tasks'
  );
}

/** `GET /tasks/{id}`. */
export async function fetchTask(
  settings: ServerConnection.ISettings,
  id: string
): Promise<ITask> {
  return expectObject<ITask>(
    await requestAPI(`tasks/${encodeURIComponent(id)}`, settings),
    TASK_KEYS,
    'task'
  );
}

/** `DELETE /tasks/{id}`: cancel (a running task stops soon and rolls back). */
export async function cancelTask(
  settings: ServerConnection.ISettings,
  id: string
): Promise<ITask> {
  return expectObject<ITask>(
    await requestAPI(`tasks/${encodeURIComponent(id)}`, settings, {
      method: 'DELETE'
    }),
    TASK_KEYS,
    'task'
  );
}

/** `GET /installed`. */
export async function fetchInstalled(
  settings: ServerConnection.ISettings
): Promise<IInstalledRecord[]> {
  return expectArray<IInstalledRecord>(
    await requestAPI('installed', settings),
    RECORD_KEYS,
    'installed'
  );
}

/**
 * `DELETE /installed/{hash}[?dependents=true]`: refused while installed
 * packages need it, unless `dependents` removes them too.
 */
export async function uninstall(
  settings: ServerConnection.ISettings,
  hash: string,
  dependents = false,
  dryRun = false
): Promise<IRemoval> {
  return expectObject<IRemoval>(
    await requestAPI(
      `installed/${encodeURIComponent(hash)}`,
      settings,
      { method: 'DELETE' },
      { dependents: dependents || null, dry_run: dryRun || null }
    ),
    ['removed'],
    'uninstall'
  );
}

/** `POST /gc`: remove dependencies no explicit package needs. */
export async function collectGarbage(
  settings: ServerConnection.ISettings,
  dryRun = false
): Promise<IRemoval> {
  return expectObject<IRemoval>(
    await requestAPI(
      'gc',
      settings,
      { method: 'POST', body: '{}' },
      { dry_run: dryRun || null }
    ),
    ['removed'],
    'gc'
  );
}
