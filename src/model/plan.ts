/**
 * What the plan view shows before anything is downloaded: the plan split by
 * action, the download total, and whether (and why not) it can be installed.
 */
import { ICheck, IPlan, IPlannedNode } from '../api';

export interface IPlanSummary {
  /** Packages downloaded and installed, requested ones first. */
  download: IPlannedNode[];
  /** Already installed (or in an upstream store): used as they are. */
  reuse: IPlannedNode[];
  /** Provided by the system (e.g. glibc in /usr): never downloaded. */
  external: IPlannedNode[];
  /** Sum of the known tarball sizes. */
  downloadBytes: number;
  /** Downloads whose size the mirror does not say (the total is then a lower bound). */
  unknownSizes: number;
  /** Prechecks that failed, each with its one-line reason and hint. */
  failed: ICheck[];
  /** True when there is nothing to download: the request is already satisfied. */
  nothingToDo: boolean;
  /** Whether the Install button may be pressed. */
  canInstall: boolean;
}

function requestedFirst(a: IPlannedNode, b: IPlannedNode): number {
  return Number(b.explicit) - Number(a.explicit);
}

/** Group a plan for display (pure; keeps the server's order within a group). */
export function summarizePlan(plan: IPlan): IPlanSummary {
  const download = plan.nodes.filter(n => n.action === 'download');
  const reuse = plan.nodes.filter(n => n.action === 'reuse');
  const external = plan.nodes.filter(n => n.action === 'external');
  const sizes = download.map(n => n.size);
  const downloadBytes =
    plan.download_bytes ?? sizes.reduce<number>((sum, s) => sum + (s ?? 0), 0);
  const failed = plan.checks.filter(c => !c.ok);
  return {
    download: [...download].sort(requestedFirst),
    reuse: [...reuse].sort(requestedFirst),
    external,
    downloadBytes,
    unknownSizes: sizes.filter(s => s === null).length,
    failed,
    nothingToDo: download.length === 0,
    canInstall: plan.ok && failed.length === 0 && download.length > 0
  };
}

/** Where a package of the plan goes, or already is, in words a user reads. */
export interface IPlace {
  /**
   * `new`: installed there by this plan; `installed`: already there (this
   * user's store); `upstream`: in a shared, read-only Spack tree; `system`:
   * provided by the operating system; `unknown`: the server did not say.
   */
  kind: 'new' | 'installed' | 'upstream' | 'system' | 'unknown';
  /** The full path (for the tooltip and copying); null when unknown. */
  path: string | null;
  /**
   * What to show: the path below the install root or the upstream tree
   * (the part that differs per package), else the full path.
   */
  short: string | null;
  /** The upstream tree's root, for `upstream`. */
  upstream: string | null;
}

function below(path: string, root: string): string | null {
  const base = root.endsWith('/') ? root : `${root}/`;
  return path.startsWith(base) && path.length > base.length
    ? path.slice(base.length)
    : null;
}

/** Where `node` is installed to (download) or lives (reuse, external). */
export function placeOf(node: IPlannedNode, installRoot: string): IPlace {
  const path = node.prefix;
  const upstream = node.upstream ?? null;
  if (path === null) {
    return { kind: 'unknown', path, short: null, upstream };
  }
  if (node.action === 'external') {
    return { kind: 'system', path, short: path, upstream };
  }
  if (upstream !== null) {
    return {
      kind: 'upstream',
      path,
      short: below(path, upstream) ?? path,
      upstream
    };
  }
  return {
    kind: node.action === 'download' ? 'new' : 'installed',
    path,
    short: below(path, installRoot) ?? path,
    upstream
  };
}
