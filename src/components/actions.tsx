/**
 * What a hint's button does, provided by the panel to every error line
 * (a context, so the views need not thread callbacks through each other).
 */
import { TranslationBundle } from '@jupyterlab/translation';
import * as React from 'react';

export interface IPanelActions {
  /** Open the Mirrors section at this mirror's keys (all untrusted ones when null). */
  reviewKeys: (mirror: string | null) => void;
  addMirror: () => void;
  /** Open the troubleshooting guide at the section of this error code. */
  openHelp: ((code: string) => void) | null;
  trans: TranslationBundle;
}

export const PanelActions = React.createContext<IPanelActions | null>(null);

/**
 * What the panel asks of the rest of JupyterLab for an installed build
 * (kernels, notebooks, terminals); absent in tests of the views alone.
 */
export interface IWorkbench {
  /** The kernel already made for this root build, if any. */
  kernelFor: (hash: string) => { name: string; displayName: string } | null;
  /** Open a new notebook running this kernel. */
  openKernel: (kernel: string) => void;
  /** Put a line into the active notebook; false when no notebook is open. */
  useInNotebook: (line: string) => Promise<boolean>;
  /** Open a terminal and type this command into it. */
  openTerminal: (command: string) => void;
}

export const Workbench = React.createContext<IWorkbench | null>(null);
