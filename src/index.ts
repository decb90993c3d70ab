/**
 * jupyter-spackcache frontend: the "Spack" sidebar panel, its palette
 * commands and its settings, and the bridge that keeps `%spack lock` in
 * each notebook's metadata. Plugins and commands only; state lives in
 * `model/`, views in `components/`, the REST client in `api.ts`.
 */
import {
  ILayoutRestorer,
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import { ICommandPalette, Notification } from '@jupyterlab/apputils';
import { IRenderMimeRegistry } from '@jupyterlab/rendermime';
import { ISettingRegistry } from '@jupyterlab/settingregistry';
import { IStateDB } from '@jupyterlab/statedb';
import { ITranslator, nullTranslator } from '@jupyterlab/translation';

// the panel is built at activation (it is a sidebar tab from the start), so these load eagerly
// eslint-disable-next-line jupyter/prefer-lazy-imports
import { PANEL_ID, SpackPanel } from './components/SpackPanel';
import type { HelpOpener } from './help';
import { spackIcon } from './icon';
// eslint-disable-next-line jupyter/prefer-lazy-imports
import { displaySpec } from './model/format';
import { selectedEnvironmentFile } from './model/envfile';
import { LockBridge, hasMetadata } from './lockbridge';
// eslint-disable-next-line jupyter/prefer-lazy-imports
import { persistSearch } from './model/persist';
import { readSettings } from './model/settings';
import { kernelsByRoot } from './model/kernels';
import { insertIntoNotebook, openTerminalWith } from './workbench';
// eslint-disable-next-line jupyter/prefer-lazy-imports
import { SpackModel } from './model/spack';

/** Gettext domain of the extension's strings. */
export const TRANSLATION_DOMAIN = 'jupyter_spackcache';

/** The plugin id; also names the settings schema (`schema/plugin.json`). */
export const PLUGIN_ID = 'jupyter-spackcache:plugin';

/** Command ids, namespaced by the extension name. */
export namespace CommandIDs {
  export const open = 'jupyter-spackcache:open-panel';
  export const refresh = 'jupyter-spackcache:refresh';
  export const install = 'jupyter-spackcache:install';
  export const gc = 'jupyter-spackcache:gc';
  export const installFromFile = 'jupyter-spackcache:install-from-file';
}

const plugin: JupyterFrontEndPlugin<void> = {
  id: PLUGIN_ID,
  description: 'A sidebar panel to install software from Spack build caches.',
  autoStart: true,
  optional: [
    ICommandPalette,
    ILayoutRestorer,
    ITranslator,
    ISettingRegistry,
    IStateDB,
    IRenderMimeRegistry
  ],
  activate: (
    app: JupyterFrontEnd,
    palette: ICommandPalette | null,
    restorer: ILayoutRestorer | null,
    translator: ITranslator | null,
    registry: ISettingRegistry | null,
    stateDB: IStateDB | null,
    rendermime: IRenderMimeRegistry | null
  ) => {
    const trans = (translator ?? nullTranslator).load(TRANSLATION_DOMAIN);
    const model = new SpackModel({
      settings: app.serviceManager.serverSettings,
      trans
    });
    // the guide's viewer loads the first time an error's "Troubleshooting" link is used
    let help: HelpOpener | null = null;
    let helpUrl = '';
    const openHelp = async (code: string): Promise<void> => {
      if (help === null) {
        const { HelpOpener } = await import('./help');
        help = new HelpOpener(app, rendermime, trans);
      }
      help.url = helpUrl;
      await help.open(code);
    };
    const panel = new SpackPanel({
      model,
      trans,
      openHelp: code => void openHelp(code),
      kernelsInUse: () => {
        const out = new Map<string, string[]>();
        for (const session of app.serviceManager.sessions.running()) {
          const name = session.kernel?.name;
          if (name) {
            out.set(name, [...(out.get(name) ?? []), session.path]);
          }
        }
        return out;
      },
      workbench: {
        kernelFor: hash =>
          kernelsByRoot(app.serviceManager.kernelspecs.specs?.kernelspecs).get(
            hash
          ) ?? null,
        openKernel: kernelName =>
          void app.commands.execute('notebook:create-new', { kernelName }),
        useInNotebook: line => insertIntoNotebook(app, line),
        openTerminal: command => void openTerminalWith(app, command)
      }
    });
    // a kernel made or removed anywhere: the Kernel buttons say so
    app.serviceManager.kernelspecs.specsChanged.connect(() => panel.update());
    // ... also when made by the CLI or a magic, which the server reports
    model.kernelsChanged.connect(
      () => void app.serviceManager.kernelspecs.refreshSpecs()
    );
    app.shell.add(panel, 'left', { rank: 900 });
    restorer?.add(panel, PANEL_ID);

    // a finished install may have registered a kernel: refresh so the launcher shows it;
    // and say how it ended where JupyterLab says such things (one toast per install)
    model.taskFinished.connect((_, progress) => {
      const what = progress.specs.map(displaySpec).join(' ');
      if (progress.state === 'done') {
        void app.serviceManager.kernelspecs.refreshSpecs();
        Notification.success(trans.__('Installed %1', what), {
          autoClose: 5000
        });
      } else if (progress.state === 'failed') {
        Notification.error(
          trans.__(
            'Install of %1 failed: %2',
            what,
            progress.error?.message ?? trans.__('see the Spack panel')
          ),
          { autoClose: false }
        );
      } else if (progress.state === 'cancelled') {
        Notification.info(trans.__('Install of %1 cancelled', what), {
          autoClose: 3000
        });
      }
    });
    // an uninstall (here or elsewhere) may have removed a kernel: drop its launcher tile now
    let installed = model.state.installed.value;
    model.changed.connect((_, state) => {
      if (state.installed.value !== installed) {
        const before = installed;
        installed = state.installed.value;
        if (before !== null) {
          void app.serviceManager.kernelspecs.refreshSpecs();
        }
      }
    });

    app.commands.addCommand(CommandIDs.open, {
      label: trans.__('Spack: Open Panel'),
      caption: trans.__('Show the Spack build-cache panel'),
      icon: spackIcon,
      describedBy: { args: { type: 'object', properties: {} } },
      execute: () => {
        app.shell.activateById(PANEL_ID);
      }
    });
    app.commands.addCommand(CommandIDs.refresh, {
      label: trans.__('Spack: Refresh Host, Mirrors and Installed Packages'),
      describedBy: { args: { type: 'object', properties: {} } },
      execute: () => model.refresh()
    });
    app.commands.addCommand(CommandIDs.install, {
      label: trans.__('Spack: Install…'),
      caption: trans.__('Show the install plan for a spec, e.g. zlib@1.3'),
      describedBy: {
        args: {
          type: 'object',
          properties: {
            spec: { type: 'string', description: 'the spec to install' }
          }
        }
      },
      execute: args => {
        app.shell.activateById(PANEL_ID);
        const spec = typeof args.spec === 'string' ? args.spec.trim() : '';
        if (spec) {
          return model.requestPlan([spec]);
        }
        // after the palette has closed: it gives the focus back to where it was
        const focus = (): void =>
          panel.node
            .querySelector<HTMLInputElement>('.jp-SpackPanel-searchInput input')
            ?.focus();
        focus();
        window.setTimeout(focus, 100);
      }
    });
    app.commands.addCommand(CommandIDs.gc, {
      label: trans.__('Spack: Remove Unneeded Dependencies (gc)'),
      describedBy: { args: { type: 'object', properties: {} } },
      execute: () => model.gc()
    });
    // the file browser's context menu: the selected spack.lock / spack.yaml / *.lock
    const selectedFile = (args: { path?: unknown }): string | null =>
      typeof args.path === 'string' && args.path
        ? args.path
        : selectedEnvironmentFile(app.shell.widgets('left'));
    app.commands.addCommand(CommandIDs.installFromFile, {
      label: trans.__('Install from spack.lock / spack.yaml'),
      caption: trans.__(
        'Install a Spack environment: a spack.lock exactly by hash, or the specs of a spack.yaml'
      ),
      icon: spackIcon,
      describedBy: {
        args: {
          type: 'object',
          properties: {
            path: {
              type: 'string',
              description:
                'the file, relative to the server root (default: the selected one)'
            }
          }
        }
      },
      isVisible: args => selectedFile(args) !== null,
      execute: args => {
        const path = selectedFile(args);
        if (path === null) {
          return;
        }
        app.shell.activateById(PANEL_ID);
        return model.installFromFile(path);
      }
    });
    app.contextMenu.addItem({
      command: CommandIDs.installFromFile,
      selector: '.jp-DirListing-item[data-isdir="false"]',
      rank: 60
    });
    for (const command of Object.values(CommandIDs)) {
      if (command !== CommandIDs.installFromFile) {
        palette?.addItem({ command, category: trans.__('Spack') });
      }
    }

    // `%spack lock` offers its lock over a comm; every notebook keeps it in its metadata
    app.docRegistry.addWidgetExtension('Notebook', {
      createNew: (_, context) =>
        hasMetadata(context.model)
          ? new LockBridge(context.sessionContext, context.model)
          : undefined
    });

    if (registry !== null) {
      // not awaited: the panel works with the defaults until the settings arrive
      void registry.load(PLUGIN_ID).then(
        settings => {
          const apply = (): void => {
            const s = readSettings(settings.composite);
            model.search.debounceMs = s.searchDebounce;
            model.pageSize = s.pageSize;
            model.pollMs = s.pollInterval;
            helpUrl = s.troubleshootingUrl;
            if (model.state.plan === null) {
              model.setKernel(s.registerKernel);
            }
          };
          apply();
          settings.changed.connect(apply);
        },
        reason => {
          console.warn(
            'jupyter-spackcache: settings not loaded, using defaults',
            reason
          );
        }
      );
    }
    if (stateDB !== null) {
      void persistSearch(model.search, stateDB);
    }
    void model.refresh();
  }
};

export default plugin;
