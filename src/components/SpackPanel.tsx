/**
 * The left-sidebar panel: a ReactWidget that lays out the views and wires
 * them to the model. Confirmations (uninstall, gc, removing a mirror) use
 * JupyterLab's dialogs; everything else is inline.
 */
import { Dialog, showDialog } from '@jupyterlab/apputils';
import { TranslationBundle } from '@jupyterlab/translation';
import {
  ReactWidget,
  ToolbarButtonComponent,
  UseSignal,
  refreshIcon
} from '@jupyterlab/ui-components';
import * as React from 'react';

import { IInstalledRecord, IMirror } from '../api';
import { spackIcon } from '../icon';
import { shortSpec } from '../model/format';
import { dependents } from '../model/installed';
import { isActive } from '../model/progress';
import { ISpackState, SpackModel } from '../model/spack';
import { ErrorLine, Section } from './common';
import { HostView } from './HostView';
import { InstallView } from './InstallView';
import { InstalledView } from './InstalledView';
import { MirrorsView } from './MirrorsView';
import { PackageView } from './PackageView';
import { PlanView } from './PlanView';
import { SearchView } from './SearchView';

/** DOM id of the panel; also the sidebar tab's `data-id`. */
export const PANEL_ID = 'jupyter-spackcache-panel';

async function confirm(
  title: string,
  body: string,
  accept: string,
  trans: TranslationBundle
): Promise<boolean> {
  const result = await showDialog({
    title,
    body,
    buttons: [
      Dialog.cancelButton({ label: trans.__('Cancel') }),
      Dialog.warnButton({ label: accept })
    ]
  });
  return result.button.accept;
}

/** Uninstall with the dependents rule: say who still needs it, and offer to remove them too. */
async function confirmUninstall(
  model: SpackModel,
  record: IInstalledRecord,
  trans: TranslationBundle
): Promise<void> {
  const all = model.state.installed.value ?? [];
  const needing = dependents(all, record.hash);
  const spec = shortSpec(record.name, record.version, record.hash);
  if (needing.length === 0) {
    if (
      await confirm(
        trans.__('Uninstall %1?', spec),
        trans.__('Its files under %1 are deleted.', record.prefix),
        trans.__('Uninstall'),
        trans
      )
    ) {
      await model.uninstall(record);
    }
    return;
  }
  const names = needing
    .map(r => shortSpec(r.name, r.version, r.hash))
    .join(', ');
  const body = trans.__(
    '%1 is still needed by %2. Removing it would break them, so they are removed too.',
    spec,
    names
  );
  if (
    await confirm(
      trans.__('Uninstall %1 and its dependents?', spec),
      body,
      trans.__('Uninstall all'),
      trans
    )
  ) {
    await model.uninstall(record, true);
  }
}

/** Open the Mirrors section and put the cursor in the new mirror's name. */
function openMirrorForm(): void {
  const section = document.querySelector<HTMLDetailsElement>(
    `#${PANEL_ID} details[data-section="mirrors"]`
  );
  if (section === null) {
    return;
  }
  section.open = true;
  const input = section.querySelector<HTMLInputElement>(
    'input[aria-label="Mirror name"]'
  );
  input?.scrollIntoView({ block: 'nearest' });
  input?.focus();
}

function PanelBody(props: {
  model: SpackModel;
  state: ISpackState;
  trans: TranslationBundle;
}): JSX.Element {
  const { model, state, trans } = props;
  const installing = state.install !== null && isActive(state.install.state);
  return (
    <div className="jp-SpackPanel-body">
      <header className="jp-SpackPanel-header">
        <spackIcon.react tag="span" className="jp-SpackPanel-logo" />
        <h2>{trans.__('Spack')}</h2>
        <ToolbarButtonComponent
          icon={refreshIcon}
          tooltip={trans.__('Reload host, mirrors and installed packages')}
          onClick={() => void model.refresh()}
        />
      </header>
      {state.notice && (
        <div className="jp-SpackPanel-notice" data-kind={state.notice.kind}>
          {state.notice.kind === 'error' ? (
            <ErrorLine
              error={{
                code: 'notice',
                message: state.notice.message,
                hint: state.notice.hint
              }}
              onDismiss={() => model.dismissNotice()}
              dismissLabel={trans.__('Dismiss')}
            />
          ) : (
            <>
              <span role="status">{state.notice.message}</span>
              <button
                className="jp-SpackPanel-link"
                onClick={() => model.dismissNotice()}
                aria-label={trans.__('Dismiss')}
              >
                ×
              </button>
            </>
          )}
        </div>
      )}
      <HostView
        host={state.host}
        mirrors={state.mirrors}
        keys={state.keys}
        onAddMirror={() => openMirrorForm()}
        trans={trans}
      />
      {(state.plan !== null || state.install !== null) && (
        <Section title={trans.__('Install')} name="install">
          {state.plan !== null && (
            <PlanView
              pending={state.plan}
              kernel={state.kernel}
              onKernel={k => model.setKernel(k)}
              onConfirm={() => void model.confirmInstall()}
              onDismiss={() => model.dismissPlan()}
              trans={trans}
            />
          )}
          {state.install !== null && (
            <InstallView
              progress={state.install}
              polling={state.polling}
              onCancel={() => void model.cancelInstall()}
              onClose={() => model.clearInstall()}
              trans={trans}
            />
          )}
        </Section>
      )}
      <Section title={trans.__('Search')} name="search">
        <SearchView
          search={model.search}
          selected={state.selected}
          onSelect={g => void model.select(g)}
          onAddMirror={() => openMirrorForm()}
          trans={trans}
          renderDetail={() =>
            state.selected && (
              <PackageView
                group={state.selected}
                build={state.build}
                detail={state.detail}
                onChoose={h => void model.chooseBuild(h)}
                onInstall={() => void model.requestPlan()}
                installing={installing}
                trans={trans}
              />
            )
          }
        />
      </Section>
      <Section title={trans.__('Installed')} name="installed">
        <InstalledView
          installed={state.installed}
          onUninstall={r => void confirmUninstall(model, r, trans)}
          onKernel={r => void model.registerKernel(r)}
          onGc={() =>
            void confirm(
              trans.__('Clean up unneeded packages?'),
              trans.__(
                'Dependencies that no requested package needs any more are deleted.'
              ),
              trans.__('Clean up'),
              trans
            ).then(ok => (ok ? model.gc() : undefined))
          }
          trans={trans}
        />
      </Section>
      <Section title={trans.__('Mirrors and keys')} name="mirrors" open={false}>
        <MirrorsView
          mirrors={state.mirrors}
          keys={state.keys}
          keyPreview={state.keyPreview}
          addError={state.mirrorError}
          onAdd={(n, u, unsigned) => model.addMirror(n, u, unsigned)}
          onRemove={(m: IMirror) =>
            void confirm(
              trans.__('Remove mirror %1?', m.name),
              trans.__(
                'Installed packages stay; nothing more is installed from %1.',
                m.url
              ),
              trans.__('Remove'),
              trans
            ).then(ok => (ok ? model.removeMirror(m.name) : undefined))
          }
          onReviewKeys={m => void model.previewKeys(m)}
          onTrust={(m, f) => void model.trustKeys(m, f)}
          onClosePreview={() => model.closeKeyPreview()}
          trans={trans}
        />
      </Section>
    </div>
  );
}

export class SpackPanel extends ReactWidget {
  constructor(options: { model: SpackModel; trans: TranslationBundle }) {
    super();
    this.model = options.model;
    this._trans = options.trans;
    this.id = PANEL_ID;
    this.addClass('jp-SpackPanel');
    this.title.icon = spackIcon;
    this.title.caption = this._trans.__('Spack');
  }

  readonly model: SpackModel;

  dispose(): void {
    if (this.isDisposed) {
      return;
    }
    this.model.dispose();
    super.dispose();
  }

  protected render(): JSX.Element {
    return (
      <UseSignal signal={this.model.changed} initialArgs={this.model.state}>
        {(_, state) => (
          <PanelBody
            model={this.model}
            state={state ?? this.model.state}
            trans={this._trans}
          />
        )}
      </UseSignal>
    );
  }

  private readonly _trans: TranslationBundle;
}
