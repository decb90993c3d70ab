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
