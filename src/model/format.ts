/**
 * Presentation helpers shared by the views: pure functions of values, no DOM,
 * so that what the panel prints is unit-tested like the CLI's output.
 */
import { VariantValue } from '../api';

/** Bytes in SI units, as the CLI prints them ("3.4 KB", "1.2 GB"); "?" when unknown. */
export function humanBytes(n: number | null | undefined): string {
  if (n === null || n === undefined || !Number.isFinite(n)) {
    return '?';
  }
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let size = n;
  for (const unit of units) {
    if (size < 1000 || unit === 'TB') {
      return unit === 'B'
        ? `${Math.round(size)} B`
        : `${size.toFixed(1)} ${unit}`;
    }
    size /= 1000;
  }
  return `${n} B`;
}

/**
 * The host line: its own target, then the targets whose binaries run here,
 * shortened to `shown` entries ("zen3 — binaries for zen3, zen2, x86_64_v3 … run here").
 */
export function targetsSummary(
  compatible: readonly string[],
  shown = 3
): string {
  const head = compatible.slice(0, shown).join(', ');
  return compatible.length > shown ? `${head} …` : head;
}

/** Variants in Spack's spelling (+flag ~flag key=value), noise-only keys left out. */
export function variantsText(
  variants: Record<string, VariantValue>,
  limit = 8
): string {
  const parts: string[] = [];
  for (const [key, value] of Object.entries(variants)) {
    if (key === 'build_system' || key === 'patches' || key === 'dev_path') {
      continue;
    }
    if (typeof value === 'boolean') {
      parts.push(`${value ? '+' : '~'}${key}`);
    } else if (Array.isArray(value)) {
      parts.push(`${key}=${value.join(',')}`);
    } else {
      parts.push(`${key}=${value}`);
    }
  }
  return parts.length > limit
    ? [...parts.slice(0, limit), '…'].join(' ')
    : parts.join(' ');
}

/** "name@version/abcdefg": how Spack prints one build. */
export function shortSpec(name: string, version: string, hash: string): string {
  return `${name}@${version}/${hash.slice(0, 7)}`;
}

/** A whole percentage, clamped to 0–100, for bars and their labels. */
export function percent(fraction: number): number {
  if (!Number.isFinite(fraction)) {
    return 0;
  }
  return Math.round(Math.min(1, Math.max(0, fraction)) * 100);
}

/** A spec for display: full 32-character hashes cut to Spack's usual 7. */
export function displaySpec(spec: string): string {
  return spec.replace(/\/([a-z0-9]{7})[a-z0-9]{1,25}\b/g, '/$1');
}
