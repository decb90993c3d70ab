/**
 * The troubleshooting guide inside JupyterLab: every error code names a
 * section of it. The page comes from the server (it ships with the package)
 * and is rendered as Markdown in a main-area tab, scrolled to the section;
 * a site that hosts the docs itself sets `troubleshootingUrl` instead.
 */
import { JupyterFrontEnd } from '@jupyterlab/application';
import { MainAreaWidget } from '@jupyterlab/apputils';
import { IRenderMimeRegistry, MimeModel } from '@jupyterlab/rendermime';
import { TranslationBundle } from '@jupyterlab/translation';
import { Widget } from '@lumino/widgets';

import { URLExt } from '@jupyterlab/coreutils';
import { ServerConnection } from '@jupyterlab/services';

import { API_NAMESPACE } from './api';

/** DOM id of the guide's tab (one tab, reused). */
export const HELP_ID = 'jupyter-spackcache-troubleshooting';

/** The hosted page's address of a section (`url#code`). */
export function sectionUrl(base: string, code: string): string {
  return `${base.replace(/#.*$/, '')}#${encodeURIComponent(code)}`;
}

export class HelpOpener {
  constructor(
    private readonly _app: JupyterFrontEnd,
    private readonly _rendermime: IRenderMimeRegistry | null,
    private readonly _trans: TranslationBundle
  ) {}

  /** The site's hosted copy, when set (`troubleshootingUrl` in the settings). */
  url = '';

  async open(code: string): Promise<void> {
    const settings = this._app.serviceManager.serverSettings;
    if (this.url || this._rendermime === null) {
      // without a Markdown renderer, the shipped page opens as text
      const page =
        this.url ||
        URLExt.join(settings.baseUrl, API_NAMESPACE, 'docs', 'troubleshooting');
      window.open(sectionUrl(page, code), '_blank', 'noopener');
      return;
    }
    const widget = await this._widget();
    this._app.shell.activateById(widget.id);
    // Lab's Markdown renderer names headings by `data-jupyter-id` (or `id`)
    const name = CSS.escape(code);
    const target = widget.content.node.querySelector(
      `[data-jupyter-id="${name}"], [id="${name}"]`
    );
    target?.scrollIntoView({ block: 'start' });
    widget.content.node.dataset.section = code;
  }

  private async _widget(): Promise<MainAreaWidget<Widget>> {
    if (this._current !== null && !this._current.isDisposed) {
      return this._current;
    }
    const settings = this._app.serviceManager.serverSettings;
    const response = await ServerConnection.makeRequest(
      URLExt.join(settings.baseUrl, API_NAMESPACE, 'docs', 'troubleshooting'),
      {},
      settings
    );
    const markdown = await response.text();
    this._renderer?.dispose();
    const renderer = this._rendermime!.createRenderer('text/markdown');
    this._renderer = renderer;
    await renderer.renderModel(
      new MimeModel({ data: { 'text/markdown': markdown } })
    );
    const content = new Widget();
    content.addClass('jp-SpackPanel-help');
    content.node.appendChild(renderer.node);
    const widget = new MainAreaWidget({ content });
    widget.id = HELP_ID;
    widget.title.label = this._trans.__('Spack troubleshooting');
    widget.title.closable = true;
    this._app.shell.add(widget, 'main');
    this._current = widget;
    return widget;
  }

  private _current: MainAreaWidget<Widget> | null = null;
  private _renderer: Widget | null = null;
}
