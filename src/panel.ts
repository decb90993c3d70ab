/**
 * The left-sidebar panel. For now it shows which server extension version
 * answers; install and search views are added here later.
 */
import { ServerConnection } from '@jupyterlab/services';
import {
  ITranslator,
  nullTranslator,
  TranslationBundle
} from '@jupyterlab/translation';
import { Widget } from '@lumino/widgets';

import { fetchStatus } from './api';
import { spackIcon } from './icon';

/** DOM id of the panel; also the sidebar tab's `data-id`. */
export const PANEL_ID = 'jupyter-spackcache-panel';

/** Gettext domain of the extension's strings. */
export const TRANSLATION_DOMAIN = 'jupyter_spackcache';

export namespace SpackPanel {
  export interface IOptions {
    /** Where the server extension lives (the Lab's own server settings). */
    settings: ServerConnection.ISettings;
    /** Translator for the UI strings; untranslated when absent. */
    translator?: ITranslator;
  }
}

export class SpackPanel extends Widget {
  constructor(options: SpackPanel.IOptions) {
    super();
    this._settings = options.settings;
    this._trans = (options.translator ?? nullTranslator).load(
      TRANSLATION_DOMAIN
    );
    this.id = PANEL_ID;
    this.addClass('jp-SpackPanel');
    this.title.icon = spackIcon;
    this.title.label = this._trans.__('Spack');
    this.title.caption = this._trans.__('Spack build caches');

    const header = document.createElement('h2');
    header.className = 'jp-SpackPanel-header';
    header.textContent = this._trans.__('Spack');
    this._status = document.createElement('div');
    this._status.className = 'jp-SpackPanel-status';
    this.node.append(header, this._status);
  }

  /** Ask the server for its status and show the answer (or the error). */
  async refresh(): Promise<void> {
    const trans = this._trans;
    this._show(trans.__('Connecting to the server extension…'), 'pending');
    try {
      const status = await fetchStatus(this._settings);
      if (status.ok) {
        this._show(trans.__('jupyter-spackcache %1', status.version), 'ok');
      } else {
        this._show(
          trans.__('jupyter-spackcache %1 (not ready)', status.version),
          'error'
        );
      }
    } catch (reason) {
      const message = reason instanceof Error ? reason.message : String(reason);
      this._show(
        trans.__('Server extension unavailable: %1', message),
        'error'
      );
    }
  }

  private _show(text: string, state: 'pending' | 'ok' | 'error'): void {
    this._status.textContent = text;
    this._status.dataset.state = state;
  }

  private readonly _settings: ServerConnection.ISettings;
  private readonly _trans: TranslationBundle;
  private readonly _status: HTMLDivElement;
}
