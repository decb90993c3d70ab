/**
 * jupyter-spackcache frontend: a "Spack" sidebar panel and its palette command.
 */
import {
  ILayoutRestorer,
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import { ICommandPalette } from '@jupyterlab/apputils';
import { ITranslator, nullTranslator } from '@jupyterlab/translation';

import { spackIcon } from './icon';
import { PANEL_ID, SpackPanel, TRANSLATION_DOMAIN } from './panel';

/** Command ids, namespaced by the extension name. */
export namespace CommandIDs {
  export const open = 'jupyter-spackcache:open-panel';
}

const plugin: JupyterFrontEndPlugin<void> = {
  id: 'jupyter-spackcache:plugin',
  description: 'A sidebar panel to install software from Spack build caches.',
  autoStart: true,
  optional: [ICommandPalette, ILayoutRestorer, ITranslator],
  activate: (
    app: JupyterFrontEnd,
    palette: ICommandPalette | null,
    restorer: ILayoutRestorer | null,
    translator: ITranslator | null
  ) => {
    const trans = (translator ?? nullTranslator).load(TRANSLATION_DOMAIN);
    const panel = new SpackPanel({
      settings: app.serviceManager.serverSettings,
      translator: translator ?? undefined
    });
    app.shell.add(panel, 'left', { rank: 900 });
    restorer?.add(panel, PANEL_ID);
    void panel.refresh();

    app.commands.addCommand(CommandIDs.open, {
      label: trans.__('Spack: Open panel'),
      caption: trans.__('Show the Spack build-cache panel'),
      icon: spackIcon,
      describedBy: { args: { type: 'object', properties: {} } },
      execute: () => {
        app.shell.activateById(PANEL_ID);
        return panel.refresh();
      }
    });
    palette?.addItem({ command: CommandIDs.open, category: trans.__('Spack') });
  }
};

export default plugin;
