/**
 * The left-sidebar panel: a ReactWidget that lays out the views and wires
 * them to the model. Confirmations (uninstall, gc, removing a mirror) use
 * JupyterLab's dialogs; everything else is inline.
 */
import { TranslationBundle } from '@jupyterlab/translation';
import {
  ReactWidget,
  ToolbarButtonComponent,
  UseSignal,
  refreshIcon
} from '@jupyterlab/ui-components';
import * as React from 'react';

import { IInstalledRecord, IMirror, IMirrorPreset, IRemoval } from '../api';
import { spackIcon } from '../icon';
import { shortSpec } from '../model/format';
import { dependents } from '../model/installed';
import { isActive } from '../model/progress';
import { ISpackState, SpackModel } from '../model/spack';
import { IPanelActions, IWorkbench, PanelActions, Workbench } from './actions';
import { ErrorLine, Section, confirmUnsigned, confirmWarn } from './common';
import { HostView } from './HostView';
import { InstallView } from './InstallView';
import { InstalledView } from './InstalledView';
import { FirstRunCard } from './FirstRunCard';
import { MirrorsView } from './MirrorsView';
import { PackageView } from './PackageView';
import { PlanView } from './PlanView';
import { SearchView } from './SearchView';

/** DOM id of the panel; also the sidebar tab's `data-id`. */
export const PANEL_ID = 'jupyter-spackcache-panel';

/** The packages and kernels a removal takes with it, as a dialog body. */
function RemovalBody(props: {
  lead: string;
  removal: IRemoval;
  record?: IInstalledRecord;
  /** Notebooks running each kernel name right now. */
  inUse?: Map<string, string[]>;
  trans: TranslationBundle;
}): JSX.Element {
  const { removal, trans } = props;
  const kernels = removal.kernels_removed ?? [];
  const busy: string[] = [];
  for (const k of kernels) {
    busy.push(...(props.inUse?.get(k) ?? []));
  }
  return (
    <div className="jp-SpackPanel-removal">
      <p>{props.lead}</p>
      <ul className="jp-SpackPanel-removalList">
        {removal.removed.map(r => (
          <li key={r.hash} data-package={r.name} title={r.prefix}>
            {shortSpec(r.name, r.version, r.hash)}
            {props.record !== undefined && r.hash !== props.record.hash && (
              <span className="jp-SpackPanel-muted">
                {' '}
                {trans.__('(needs it)')}
              </span>
            )}
          </li>
        ))}
      </ul>
      {kernels.length > 0 && (
        <p className="jp-SpackPanel-removalKernels">
          {trans._n(
            'The Jupyter kernel %2 goes with it; notebooks using it will need another kernel.',
            'The Jupyter kernels %2 go with them; notebooks using them will need another kernel.',
            kernels.length,
            kernels.join(', ')
          )}
        </p>
      )}
      {busy.length > 0 && (
        <p className="jp-SpackPanel-removalBusy">
          {trans.__('Running now with it: %1.', busy.join(', '))}
        </p>
      )}
    </div>
  );
}

/** Uninstall with the dependents rule: name who still needs it and the kernels that go too. */
async function confirmUninstall(
  model: SpackModel,
  record: IInstalledRecord,
  trans: TranslationBundle,
  inUse?: () => Map<string, string[]>
): Promise<void> {
  const all = model.state.installed.value ?? [];
  const needing = dependents(all, record.hash);
  const spec = shortSpec(record.name, record.version, record.hash);
  const withDependents = needing.length > 0;
  let removal: IRemoval;
  try {
    removal = await model.previewUninstall(record, withDependents);
  } catch {
    removal = { removed: [record, ...needing], kernels_removed: [] };
  }
  const lead = withDependents
    ? trans.__(
        '%1 is still needed by %2. Removing it would break them, so they are removed too:',
        spec,
        needing.map(r => shortSpec(r.name, r.version, r.hash)).join(', ')
      )
    : trans.__('These files are deleted:');
  const ok = await confirmWarn(
    withDependents
      ? trans.__('Uninstall %1 and its dependents?', spec)
      : trans.__('Uninstall %1?', spec),
    <RemovalBody
      lead={lead}
      removal={removal}
      record={record}
      inUse={inUse?.()}
      trans={trans}
    />,
    withDependents ? trans.__('Uninstall all') : trans.__('Uninstall'),
    trans
  );
  if (ok) {
    await model.uninstall(record, withDependents);
  }
}

/** gc: list what it will remove first, then remove exactly that kind of thing. */
async function confirmGc(
  model: SpackModel,
  trans: TranslationBundle
): Promise<void> {
  let removal: IRemoval | null = null;
  try {
    removal = await model.previewGc();
  } catch {
    removal = null;
  }
  const body =
    removal === null ? (
      trans.__(
        'Dependencies that no requested package needs any more are deleted.'
      )
    ) : (
      <RemovalBody
        lead={trans.__('No requested package needs these any more:')}
        removal={removal}
        trans={trans}
      />
    );
  if (
    await confirmWarn(
      trans.__('Clean up unneeded packages?'),
      body,
      trans.__('Clean up'),
      trans
    )
  ) {
    await model.gc();
  }
}

/** Add a mirror the site suggests (asking first when it is unsigned), then review its key. */
async function addPreset(
  model: SpackModel,
  preset: IMirrorPreset,
  trans: TranslationBundle
): Promise<void> {
  if (!preset.signed && !(await confirmUnsigned(preset.title, trans))) {
    return;
  }
  if (await model.firstRun.addPreset(preset)) {
    if (model.state.keyPreview !== null) {
      openMirrorForm(false); // the key review is in the Mirrors section
    }
  }
}

/** Bring the first-run card into view with its first offer focused (else open the form). */
function showFirstRun(): void {
  const card = document.querySelector<HTMLElement>(
    `#${PANEL_ID} .jp-SpackPanel-host .jp-SpackPanel-firstRunCard`
  );
  if (card === null) {
    openMirrorForm();
    return;
  }
  card.scrollIntoView({ block: 'nearest' });
  card.querySelector<HTMLButtonElement>('button:not(:disabled)')?.focus();
}

/** Open the Mirrors section and (unless told not to) put the cursor in the new mirror's name. */
function openMirrorForm(focusForm = true): void {
  const section = document.querySelector<HTMLDetailsElement>(
    `#${PANEL_ID} details[data-section="mirrors"]`
  );
  if (section === null) {
    return;
  }
  section.open = true;
  if (!focusForm) {
    section.scrollIntoView({ block: 'nearest' });
    return;
  }
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
  openHelp: ((code: string) => void) | null;
  kernelsInUse?: () => Map<string, string[]>;
}): JSX.Element {
  const { model, state, trans } = props;
  const actions: IPanelActions = {
    reviewKeys: mirror => {
      openMirrorForm(false);
      if (mirror !== null) {
        void model.previewKeys(mirror);
      }
    },
    addMirror: showFirstRun,
    openHelp: props.openHelp,
    trans
  };
  const installing = state.install !== null && isActive(state.install.state);
  return (
    <PanelActions.Provider value={actions}>
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
                  code: state.notice.code ?? 'notice',
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
          firstRun={state.firstRun}
          onDemo={() => void model.firstRun.buildDemo()}
          onPreset={preset => void addPreset(model, preset, trans)}
          onReviewKeys={actions.reviewKeys}
          trans={trans}
        />
        {(state.plan !== null || state.install !== null) && (
          <Section title={trans.__('Install')} name="install">
            {state.plan !== null && (
              <PlanView
                pending={state.plan}
                trustOf={m =>
                  state.mirrors.value?.find(x => x.name === m)?.trust?.state
                }
                kernel={state.kernel}
                onKernel={k => model.setKernel(k)}
                onConfirm={() => void model.confirmInstall()}
                onDismiss={() => {
                  model.dismissPlan();
                  // back where the user was: the Install… button of the open package
                  document
                    .querySelector<HTMLButtonElement>(
                      `#${PANEL_ID} .jp-SpackPanel-install`
                    )
                    ?.focus();
                }}
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
        {/* not collapsible: its box must not end before the panel's, so that the
            search field can stay in view (sticky) however far the panel scrolls */}
        <section className="jp-SpackPanel-searchArea" data-section="search">
          <div
            className="jp-SpackPanel-sectionTitle"
            role="heading"
            aria-level={3}
          >
            {trans.__('Search')}
          </div>
          <SearchView
            search={model.search}
            installed={state.installed.value}
            selected={state.selected}
            onSelect={g => void model.select(g)}
            onAddMirror={
              state.host.value?.policy?.user_mirrors === false
                ? undefined // the card says why; no button that leads nowhere
                : showFirstRun
            }
            trans={trans}
            renderDetail={() =>
              state.selected && (
                <PackageView
                  group={state.selected}
                  installed={state.installed.value}
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
        </section>
        <Section title={trans.__('Installed')} name="installed">
          <InstalledView
            installed={state.installed}
            onUninstall={r =>
              void confirmUninstall(model, r, trans, props.kernelsInUse)
            }
            onKernel={r => void model.registerKernel(r)}
            onGc={() => void confirmGc(model, trans)}
            trans={trans}
          />
        </Section>
        <Section
          title={trans.__('Mirrors and keys')}
          name="mirrors"
          open={false}
        >
          <MirrorsView
            mirrors={state.mirrors}
            keys={state.keys}
            keyPreview={state.keyPreview}
            addError={state.mirrorError}
            onAdd={(n, u, unsigned) => model.addMirror(n, u, unsigned)}
            onRemove={(m: IMirror) =>
              void confirmWarn(
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
            onUntrust={f => void model.untrustKey(f)}
            policy={state.host.value?.policy ?? null}
            offers={
              <FirstRunCard
                compact
                firstRun={state.host.value?.first_run}
                mirrors={state.mirrors.value ?? []}
                userMirrors={state.host.value?.policy?.user_mirrors ?? true}
                state={state.firstRun}
                onDemo={() => void model.firstRun.buildDemo()}
                onPreset={preset => void addPreset(model, preset, trans)}
                trans={trans}
              />
            }
            trans={trans}
          />
        </Section>
      </div>
    </PanelActions.Provider>
  );
}

export class SpackPanel extends ReactWidget {
  constructor(options: {
    model: SpackModel;
    trans: TranslationBundle;
    /** Show the troubleshooting guide at an error code's section. */
    openHelp?: (code: string) => void;
    /** Kernel name → paths of the notebooks running it now (for the uninstall dialog). */
    kernelsInUse?: () => Map<string, string[]>;
    /** Kernels, notebooks and terminals for the installed builds' buttons. */
    workbench?: IWorkbench;
  }) {
    super();
    this._workbench = options.workbench ?? null;
    this._kernelsInUse = options.kernelsInUse;
    this._openHelp = options.openHelp ?? null;
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
      <Workbench.Provider value={this._workbench}>
        <UseSignal signal={this.model.changed} initialArgs={this.model.state}>
          {(_, state) => (
            <PanelBody
              model={this.model}
              state={state ?? this.model.state}
              trans={this._trans}
              openHelp={this._openHelp}
              kernelsInUse={this._kernelsInUse}
            />
          )}
        </UseSignal>
      </Workbench.Provider>
    );
  }

  private readonly _trans: TranslationBundle;
  private readonly _openHelp: ((code: string) => void) | null;
  private readonly _kernelsInUse?: () => Map<string, string[]>;
  private readonly _workbench: IWorkbench | null;
}
