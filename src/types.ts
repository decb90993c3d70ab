/**
 * The JSON shapes of the jupyter-spackcache REST API (`docs/openapi.yaml`).
 *
 * They mirror what the Python handlers write (`jupyter_spackcache/present.py`,
 * `server/tasks/model.py`) field for field, snake_case included, so a reader can
 * grep one side for the other.
 */

/** Body of `GET /status`. */
export interface IStatus {
  /** Version of the Python package serving the API. */
  version: string;
  /** Whether the server extension is healthy. */
  ok: boolean;
}

/** The filesystem that holds the install root. */
export interface IInstallRoot {
  path: string;
  free_bytes: number;
  total_bytes: number;
  free_inodes: number;
}

/** Body of `GET /host`: what this machine can run. */
export interface IHost {
  platform: string;
  os: string;
  /** The host's own microarchitecture, e.g. "zen3". */
  target: string;
  family: string;
  /** Targets whose binaries run here, best first (the host's own target first). */
  compatible_targets: string[];
  libc: { name: string; version: string; path: string } | null;
  install_root: IInstallRoot;
  /** What the site lets this user do with mirrors (absent from older servers). */
  policy?: {
    user_mirrors: boolean;
    unsigned_mirrors: boolean;
    file_mirrors: boolean;
  };
  /** What a user with no mirror is offered (absent from older servers). */
  first_run?: IFirstRun;
}

/** A mirror the site offers in one click (`mirror_presets` in the site file). */
export interface IMirrorPreset {
  name: string;
  /** Normalised like a configured mirror's url: equal means already added. */
  url: string;
  title: string;
  description: string;
  signed: boolean;
  /** Why the site policy would refuse it; null when it may be added. */
  refusal: string | null;
}

/** The demo mirror (`POST /demo-mirror`), built here with gcc. */
export interface IDemoOffer {
  name: string;
  url: string;
  refusal: string | null;
  /** Why it cannot be built on this server (no gcc); null when it can. */
  unavailable: string | null;
}

export interface IFirstRun {
  presets: IMirrorPreset[];
  /** Null when the site does not offer the demo. */
  demo: IDemoOffer | null;
}

/** One configured mirror (`GET /mirrors`). */
export interface IMirror {
  name: string;
  url: string;
  /** False for mirrors added as unsigned: their packages are not verified. */
  signed: boolean;
  /** Where the entry comes from: "user" can be removed here, "site" cannot. */
  origin: string;
  pinned_keys: string[];
  layout: string | null;
  nodes: number | null;
  /** How far its packages are checked, worked out by the server (absent after DELETE). */
  trust?: IMirrorTrust;
}

/** A mirror's own trust state: its keys against this user's keyring. */
export interface IMirrorTrust {
  state: 'trusted' | 'untrusted' | 'unsigned' | 'unknown';
  /** Fingerprints that may sign it (pinned, else published). */
  keys: string[];
  trusted_keys: string[];
  problem: string | null;
}

/** A signing key (`GET /keys`, `POST /keys/trust`). */
export interface IKey {
  fingerprint: string;
  uids: string[];
  /** Unix times. */
  created: number | null;
  expires: number | null;
  algorithm: string | null;
  length: number | null;
  /** Present in previews: whether this user already trusts it. */
  trusted?: boolean;
}

/** Body of `POST /keys/trust` (preview or trust). */
export interface IMirrorKeys {
  mirror: string;
  keys: IKey[];
}

/** A variant's value: a flag, one value, or several. */
export type VariantValue = boolean | string | string[];

/** One installable build in a search result. */
export interface IBuild {
  hash: string;
  version: string;
  target: string;
  os: string;
  platform: string;
  variants: Record<string, VariantValue>;
  mirror: string;
  /** Binary indices do not record sizes; `POST /plan` has them. */
  size: number | null;
}

/** Builds of one package name. */
export interface IPackageGroup {
  name: string;
  /** Newest first. */
  versions: string[];
  targets: string[];
  mirrors: string[];
  builds: IBuild[];
  /** Hash of the build the resolver would install (best for this CPU), if listed. */
  best?: string | null;
  /**
   * `library` when another package of the mirrors links to it, `application`
   * otherwise (what people ask for; a program others only run is one too).
   */
  role?: 'application' | 'library';
  /**
   * What the package is, when an installed build of it (here or upstream) has
   * a recipe snapshot saying so; null otherwise (build caches carry none).
   */
  description?: string | null;
}

/** A build that matches but cannot run on this host, with the reason. */
export interface IUnrunnable {
  name: string;
  hash: string;
  version: string;
  target: string;
  mirror: string;
  reason: string | null;
}

/** Why a search found nothing this host can install. */
export interface INoMatch {
  kind:
    | 'no-mirror'
    | 'no-package'
    | 'other-targets'
    | 'other-versions'
    | 'no-match';
  message: string;
  host_target: string;
  suggestions: string[];
  targets: string[];
  versions: string[];
  unrunnable: IUnrunnable[];
}

/** Body of `GET /specs`: one page of package groups. */
export interface ISpecPage {
  query: string | null;
  page: number;
  per_page: number;
  /** Null while browsing a big index without a query, until the last page is reached. */
  total: number | null;
  pages: number | null;
  has_more: boolean;
  items: IPackageGroup[];
  /** Why nothing was found (null or absent when something was). */
  why?: INoMatch | null;
}

/** A dependency edge of a concrete node. */
export interface IDependency {
  name: string;
  hash: string;
  deptypes: string[];
  virtuals: string[];
}

/** A concrete node (one package build) with its edges. */
export interface INode {
  name: string;
  version: string;
  hash: string;
  platform: string;
  os: string;
  target: string;
  namespace: string;
  /** "gcc@12.2.0", or null when the spec does not record one. */
  compiler: string | null;
  variants: Record<string, VariantValue>;
  /** The external prefix (e.g. "/usr") or null. */
  external: string | null;
  dependencies: IDependency[];
}

/** Body of `GET /specs/{hash}`: one build and its runtime nodes. */
export interface ISpecDetail {
  mirror: string;
  root: INode;
  nodes: INode[];
  /** Whether this host can run the build; `reason` says why not. */
  compatible: boolean;
  reason: string | null;
  /** Bytes of every package tarball in the build (null when one is unknown). */
  download_bytes?: number | null;
}

export type PlanAction = 'reuse' | 'download' | 'external';

export interface IPlannedNode {
  hash: string;
  name: string;
  version: string;
  target: string;
  action: PlanAction;
  prefix: string | null;
  size: number | null;
  mirror: string | null;
  explicit: boolean;
  /** Root of the upstream Spack tree a reused node lives in; null otherwise. */
  upstream?: string | null;
}

/** One precheck of a plan (space, writability, prefix length ...). */
export interface ICheck {
  name: string;
  ok: boolean;
  message: string;
  hint: string | null;
}

/** Body of `POST /plan`. */
export interface IPlan {
  install_root: string;
  roots: string[];
  /** Dependencies first. */
  nodes: IPlannedNode[];
  /** Null when a mirror does not say how big some tarball is. */
  download_bytes: number | null;
  ok: boolean;
  checks: ICheck[];
}

export type TaskState =
  'queued' | 'running' | 'done' | 'failed' | 'cancelled' | 'interrupted';

/** Where one node of an install is (Python: `install.progress.Stage`). */
export type Stage =
  | 'queued'
  | 'download'
  | 'verify'
  | 'extract'
  /** Unpacked into private staging; relocation waits for the dependencies. */
  | 'unpacked'
  | 'relocate'
  | 'done'
  | 'reused'
  | 'external'
  | 'failed'
  | 'cancelled';

export interface INodeProgress {
  hash: string;
  name: string;
  version: string;
  stage: Stage;
  bytes_done: number;
  bytes_total: number | null;
}

/** A failure as the server reports it: a one-line message and what to do next. */
export interface IErrorInfo {
  code: string;
  message: string;
  hint: string | null;
}

/** An install task (`POST /installs`, `GET /tasks/{id}`). */
export interface ITask {
  id: string;
  /** "install", or "demo-mirror" for `POST /demo-mirror` (absent from older servers). */
  kind?: 'install' | 'demo-mirror';
  specs: string[];
  kernel: boolean;
  install_root: string;
  state: TaskState;
  created: number;
  started: number | null;
  finished: number | null;
  nodes: INodeProgress[];
  bytes_done: number;
  error: IErrorInfo | null;
  /** Only in `GET /tasks/{id}` and `POST /installs`. */
  log?: string[];
}

/** What `POST /installs/from-file` read: the environment file behind a task. */
export interface IEnvFileInfo {
  /** Path relative to the server root, as sent. */
  path: string;
  kind: 'spack.lock' | 'spack.yaml' | 'notebook lock';
  /** Installed by hash, exactly as locked (false: a spack.yaml's specs, resolved). */
  exact: boolean;
  /** e.g. the spack.yaml sections that were ignored. */
  notes: string[];
}

/** The task `POST /installs/from-file` started, with the file it read. */
export interface IFileTask extends ITask {
  file: IEnvFileInfo;
}

/** A "progress" event of the task stream. */
export interface IProgressEvent {
  task: string;
  hash: string;
  name: string;
  version: string;
  stage: Stage;
  bytes_done: number;
  bytes_total: number | null;
  message: string | null;
  time: number;
}

/** An event of `GET /events?task=ID`: a task snapshot or a node's progress. */
export type TaskEvent =
  | { kind: 'task'; id: number | null; task: ITask }
  | { kind: 'progress'; id: number | null; progress: IProgressEvent };

/** One installed package (`GET /installed`). */
export interface IInstalledRecord {
  hash: string;
  name: string;
  version: string;
  prefix: string;
  install_root: string;
  target: string;
  variants: Record<string, VariantValue>;
  mirror: string | null;
  explicit: boolean;
  installed_at: number;
  /** Hashes of its runtime dependencies. */
  dependencies: string[];
  /** Its environment module (`module load` name), or null when it has none. */
  module?: string | null;
  /** What it is: its recipe snapshot's docstring, or null when it has none. */
  description?: string | null;
}

/** Body of `DELETE /installed/{hash}` and `POST /gc`. */
export interface IRemoval {
  removed: IInstalledRecord[];
  /** Kernels that needed a removed package, removed with it. */
  kernels_removed?: string[];
  warning?: string | null;
}
