/**
 * Spack environment files in the file browser: which files the "Install from
 * spack.lock / spack.yaml" action applies to, which one is selected, and what
 * to tell the user once the server has read it. Pure: no DOM, no fetch.
 */
import type { TranslationBundle } from '@jupyterlab/translation';

import type { IEnvFileInfo } from '../types';

/**
 * Whether a file name looks like an environment file: `spack.lock`,
 * `spack.yaml`/`spack.yml`, any `*.lock` (Spack users rename lockfiles) or a
 * notebook lock (`*.spack-lock.json`). The server tells the kind from the
 * content; this only decides where the menu item shows.
 */
export function isEnvironmentFile(name: string): boolean {
  const lower = name.toLowerCase();
  return (
    lower === 'spack.yaml' ||
    lower === 'spack.yml' ||
    lower.endsWith('.lock') ||
    lower.endsWith('.spack-lock.json')
  );
}

/** One listed item of a file browser, as far as this extension looks at it. */
export interface IListedItem {
  name: string;
  path: string;
  type: string;
}

/** The part of a JupyterLab file browser widget used here (duck-typed). */
export interface ISelectingBrowser {
  selectedItems(): Iterable<IListedItem>;
}

function isSelectingBrowser(widget: unknown): widget is ISelectingBrowser {
  return (
    typeof widget === 'object' &&
    widget !== null &&
    typeof (widget as { selectedItems?: unknown }).selectedItems === 'function'
  );
}

/**
 * The path of the environment file selected in the first file browser among
 * `widgets` (the shell's left-area widgets), or null when the selection is
 * not exactly one such file.
 */
export function selectedEnvironmentFile(
  widgets: Iterable<unknown>
): string | null {
  for (const widget of widgets) {
    if (!isSelectingBrowser(widget)) {
      continue;
    }
    const items = Array.from(widget.selectedItems());
    if (items.length !== 1) {
      return null;
    }
    const [item] = items;
    return item.type !== 'directory' && isEnvironmentFile(item.name)
      ? item.path
      : null;
  }
  return null;
}

/** The notice shown once the server started installing `file`. */
export function fileTaskNotice(
  file: IEnvFileInfo,
  trans: TranslationBundle
): string {
  const how = file.exact
    ? trans.__('exactly, by hash')
    : trans.__('its specs resolved against your mirrors');
  const head = trans.__(
    'Installing the %1 %2 (%3).',
    file.kind,
    file.path,
    how
  );
  return [head, ...file.notes.map(n => trans.__('Note: %1', n))].join(' ');
}
