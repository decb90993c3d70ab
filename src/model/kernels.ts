/**
 * Which installed builds already have a Jupyter kernel, read from the
 * kernelspecs JupyterLab already holds: the server writes each root's hash
 * into `metadata.spackcache.roots`, so no extra request and no name guessing.
 */

/** The part of a kernelspec this reads (JupyterLab's `ISpecModel` fits). */
export interface IKernelSpecLike {
  name: string;
  display_name: string;
  metadata?: { [key: string]: unknown } | null;
}

export interface IKernelRef {
  name: string;
  displayName: string;
}

/** Root hash → the first kernel made for it (kernel names sorted, so stable). */
export function kernelsByRoot(
  specs: { [name: string]: IKernelSpecLike | undefined } | null | undefined
): Map<string, IKernelRef> {
  const out = new Map<string, IKernelRef>();
  for (const name of Object.keys(specs ?? {}).sort()) {
    const spec = specs?.[name];
    const meta = spec?.metadata?.['spackcache'] as
      { roots?: { hash?: unknown }[] } | undefined;
    for (const root of meta?.roots ?? []) {
      if (typeof root.hash === 'string' && !out.has(root.hash)) {
        out.set(root.hash, { name, displayName: spec!.display_name });
      }
    }
  }
  return out;
}

/** The line the `%spack` magic understands, for the build shown. */
export function loadMagic(name: string, version: string, hash: string): string {
  return `%spack load ${name}@${version}/${hash}`;
}

/** What a terminal runs to get the build's environment (`spackcache load` prints it). */
export function loadShell(name: string, version: string, hash: string): string {
  return `eval "$(spackcache load --sh ${name}@${version}/${hash})"`;
}
