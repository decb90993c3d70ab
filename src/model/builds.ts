/**
 * Which build of a package to offer first, how the others differ from it, and
 * what a mirror's trust badge says: pure functions of what the server sent,
 * so the panel never guesses (the server's resolver and keyring decide).
 */
import { TranslationBundle } from '@jupyterlab/translation';

import { IBuild, IMirror, IPackageGroup } from '../api';
import { variantsText } from './format';

/** The build to pre-select: the resolver's choice, else the first listed. */
export function bestBuild(group: IPackageGroup): IBuild | null {
  const best = group.builds.find(b => b.hash === group.best);
  return best ?? group.builds[0] ?? null;
}

/** How `build` differs from `best`, one short phrase per difference. */
export function buildDifferences(
  build: IBuild,
  best: IBuild,
  trans: TranslationBundle
): string[] {
  if (build.hash === best.hash) {
    return [];
  }
  const out: string[] = [];
  if (build.version !== best.version) {
    out.push(trans.__('version %1', build.version));
  }
  if (build.target !== best.target) {
    out.push(trans.__('target %1', build.target));
  }
  if (build.mirror !== best.mirror) {
    out.push(trans.__('from %1', build.mirror));
  }
  const variants = variantsText(build.variants);
  if (variants !== variantsText(best.variants)) {
    out.push(trans.__('variants %1', variants || trans.__('none')));
  }
  if (out.length === 0) {
    out.push(trans.__('another build of the same spec'));
  }
  return out;
}

export type BadgeState = 'trusted' | 'untrusted' | 'unsigned' | 'unknown';

/** A mirror's badge as the server computed it (its own keys against the keyring). */
export function mirrorBadge(
  mirror: IMirror,
  trans: TranslationBundle
): { label: string; state: BadgeState; detail: string } {
  const trust = mirror.trust;
  const state: BadgeState =
    trust?.state ?? (mirror.signed ? 'unknown' : 'unsigned');
  switch (state) {
    case 'trusted':
      return {
        state,
        label: trans.__('signed, key trusted'),
        detail: trans.__('Packages are verified with a key you trust.')
      };
    case 'untrusted':
      return {
        state,
        label: trans.__('signed, key not trusted'),
        detail: trans.__(
          'Packages are signed, but you trust none of this mirror’s keys yet: review them before installing.'
        )
      };
    case 'unsigned':
      return {
        state,
        label: trans.__('unsigned: not verified'),
        detail: trans.__(
          'Nothing from this mirror is verified: anyone who can change it can change what you install.'
        )
      };
    default:
      return {
        state: 'unknown',
        label: trans.__('keys unreadable'),
        detail:
          trust?.problem ?? trans.__('The mirror’s keys could not be read.')
      };
  }
}

export type InstalledState = 'installed' | 'newer-available' | null;

/**
 * Whether a package is installed here: the best build itself, or only an
 * older/other build (then a newer one is available to install).
 */
export function installedState(
  group: IPackageGroup,
  installed: readonly { hash: string; name: string }[] | null
): InstalledState {
  if (installed === null) {
    return null;
  }
  const hashes = new Set(
    installed.filter(r => r.name === group.name).map(r => r.hash)
  );
  if (hashes.size === 0) {
    return null;
  }
  const best = bestBuild(group);
  return best === null || hashes.has(best.hash)
    ? 'installed'
    : 'newer-available';
}
