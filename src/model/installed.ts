/**
 * The installed view's shape: explicit installs first, each with its
 * dependencies folded under it, and the uninstall rule (who still needs what).
 */
import { IInstalledRecord } from '../api';

export interface IInstalledEntry {
  record: IInstalledRecord;
  /** Every installed package it needs, directly or not (dependencies first). */
  dependencies: IInstalledRecord[];
}

export interface IInstalledView {
  /** Explicitly installed packages, by name then newest install. */
  explicit: IInstalledEntry[];
  /** Implicit packages no explicit one needs: what gc would remove. */
  orphans: IInstalledRecord[];
}

function byName(a: IInstalledRecord, b: IInstalledRecord): number {
  return a.name.localeCompare(b.name) || b.installed_at - a.installed_at;
}

/** The installed dependencies of `root`, transitively (depth first, each once). */
export function closure(
  root: IInstalledRecord,
  index: ReadonlyMap<string, IInstalledRecord>
): IInstalledRecord[] {
  const seen = new Set<string>([root.hash]);
  const out: IInstalledRecord[] = [];
  const visit = (record: IInstalledRecord): void => {
    for (const hash of record.dependencies) {
      const dep = index.get(hash);
      if (dep === undefined || seen.has(hash)) {
        continue; // externals (glibc) are not in the store
      }
      seen.add(hash);
      visit(dep);
      out.push(dep);
    }
  };
  visit(root);
  return out;
}

/** Fold the flat `GET /installed` list for display. */
export function foldInstalled(
  records: readonly IInstalledRecord[]
): IInstalledView {
  const index = new Map(records.map(r => [r.hash, r]));
  const explicit = records
    .filter(r => r.explicit)
    .sort(byName)
    .map(record => ({ record, dependencies: closure(record, index) }));
  const needed = new Set<string>();
  for (const entry of explicit) {
    for (const dep of entry.dependencies) {
      needed.add(dep.hash);
    }
  }
  const orphans = records
    .filter(r => !r.explicit && !needed.has(r.hash))
    .sort(byName);
  return { explicit, orphans };
}

/**
 * Installed packages that need `hash` (directly or not): uninstalling it
 * is refused while there are any, unless they go too.
 */
export function dependents(
  records: readonly IInstalledRecord[],
  hash: string
): IInstalledRecord[] {
  const index = new Map(records.map(r => [r.hash, r]));
  return records
    .filter(
      r => r.hash !== hash && closure(r, index).some(d => d.hash === hash)
    )
    .sort(byName);
}

/** An installed library or dependency, with the applications that need it. */
export interface ILibraryEntry {
  record: IInstalledRecord;
  /** Explicitly installed packages that need it (directly or not), by name. */
  neededBy: IInstalledRecord[];
}

/**
 * The Installed section in two groups: applications (what the user asked
 * for) apart from the libraries and dependencies they pulled in.
 */
export interface IInstalledGroups {
  /** Explicitly installed packages, each with its dependencies. */
  applications: IInstalledEntry[];
  /** Implicit packages some application needs, by name. */
  libraries: ILibraryEntry[];
  /** Implicit packages no application needs: what gc would remove. */
  unneeded: IInstalledRecord[];
  /** Whether gc has anything to remove (whatever the filter shows). */
  canCollect: boolean;
}

function matches(record: IInstalledRecord, wanted: string): boolean {
  return (
    record.name.toLowerCase().includes(wanted) ||
    (record.description ?? '').toLowerCase().includes(wanted)
  );
}

/**
 * Group `GET /installed` for display, then keep what `filter` matches (by
 * name or description; a library also when an application needing it
 * matches). Who needs what is worked out over every record, so a filter
 * never makes a needed library look unneeded.
 */
export function groupInstalled(
  records: readonly IInstalledRecord[],
  filter = ''
): IInstalledGroups {
  const view = foldInstalled(records);
  const neededBy = new Map<string, IInstalledRecord[]>();
  for (const entry of view.explicit) {
    for (const dep of entry.dependencies) {
      const users = neededBy.get(dep.hash) ?? [];
      users.push(entry.record);
      neededBy.set(dep.hash, users);
    }
  }
  const libraries = records
    .filter(r => !r.explicit && neededBy.has(r.hash))
    .sort(byName)
    .map(record => ({ record, neededBy: neededBy.get(record.hash) ?? [] }));
  const wanted = filter.trim().toLowerCase();
  if (wanted === '') {
    return {
      applications: view.explicit,
      libraries,
      unneeded: view.orphans,
      canCollect: view.orphans.length > 0
    };
  }
  return {
    applications: view.explicit.filter(e => matches(e.record, wanted)),
    libraries: libraries.filter(
      l => matches(l.record, wanted) || l.neededBy.some(a => matches(a, wanted))
    ),
    unneeded: view.orphans.filter(r => matches(r, wanted)),
    canCollect: view.orphans.length > 0
  };
}
