/**
 * What is installed, in two groups: applications (explicitly requested, each
 * with what it is and its dependencies folded under it), then the libraries
 * and dependencies they pulled in, then leftovers that gc would remove.
 */
import { TranslationBundle } from '@jupyterlab/translation';
import {
  Button,
  InputGroup,
  addIcon,
  deleteIcon,
  kernelIcon,
  terminalIcon
} from '@jupyterlab/ui-components';
import * as React from 'react';

import { IInstalledRecord } from '../api';
import { shortSpec, variantsText } from '../model/format';
import { IInstalledEntry, groupInstalled } from '../model/installed';
import { loadMagic, loadShell } from '../model/kernels';
import { IRemote } from '../model/spack';
import { Workbench } from './actions';
import { ErrorLine, GroupTitle, Muted } from './common';

/** What the package is (its recipe's docstring), when its build says. */
function Description(props: { record: IInstalledRecord }): JSX.Element | null {
  const text = props.record.description;
  return text ? (
    <div className="jp-SpackPanel-description" title={text}>
      {text}
    </div>
  ) : null;
}

function Row(props: {
  record: IInstalledRecord;
  onUninstall?: (record: IInstalledRecord) => void;
  onKernel?: (record: IInstalledRecord) => void;
  trans: TranslationBundle;
}): JSX.Element {
  const { record, trans } = props;
  return (
    <div className="jp-SpackPanel-installedRow">
      <span
        className="jp-SpackPanel-name jp-SpackPanel-cut"
        title={`${record.name}@${record.version}/${record.hash}\n${record.prefix}`}
      >
        {shortSpec(record.name, record.version, record.hash)}
      </span>
      <span className="jp-SpackPanel-muted jp-SpackPanel-cut">
        {variantsText(record.variants, 4)}
      </span>
      {record.module && (
        <code
          className="jp-SpackPanel-module"
          title={trans.__(
            'In a terminal or a batch job: module load %1',
            record.module
          )}
        >
          {`module load ${record.module}`}
        </code>
      )}
      {props.onKernel && <KernelButton {...props} />}
      {props.onKernel && <UseButtons record={record} trans={trans} />}
      {props.onUninstall && (
        <Button
          small
          minimal
          className="jp-SpackPanel-uninstall"
          title={trans.__('Uninstall %1', record.name)}
          aria-label={trans.__('Uninstall')}
          onClick={() => props.onUninstall?.(record)}
        >
          <deleteIcon.react tag="span" className="jp-SpackPanel-btnIcon" />
          <span className="jp-SpackPanel-btnLabel">
            {trans.__('Uninstall')}
          </span>
        </Button>
      )}
    </div>
  );
}

/** Kernel: make one, or — when it exists — say so and open a notebook with it. */
function KernelButton(props: {
  record: IInstalledRecord;
  onKernel?: (record: IInstalledRecord) => void;
  trans: TranslationBundle;
}): JSX.Element {
  const { record, trans } = props;
  const workbench = React.useContext(Workbench);
  const kernel = workbench?.kernelFor(record.hash) ?? null;
  return (
    <Button
      small
      minimal
      className={
        kernel
          ? 'jp-SpackPanel-kernel jp-mod-registered'
          : 'jp-SpackPanel-kernel'
      }
      data-kernel={kernel?.name}
      title={
        kernel
          ? trans.__(
              'Kernel “%1” exists: open a new notebook with it',
              kernel.displayName
            )
          : trans.__(
              'Register %1 and its dependencies as a Jupyter kernel',
              record.name
            )
      }
      aria-label={kernel ? trans.__('Open kernel') : trans.__('Kernel')}
      onClick={() =>
        kernel ? workbench?.openKernel(kernel.name) : props.onKernel?.(record)
      }
    >
      <kernelIcon.react tag="span" className="jp-SpackPanel-btnIcon" />
      <span className="jp-SpackPanel-btnLabel">
        {kernel ? trans.__('Kernel ✓') : trans.__('Kernel')}
      </span>
    </Button>
  );
}

/** Use the build where the user works: the active notebook, or a new terminal. */
function UseButtons(props: {
  record: IInstalledRecord;
  trans: TranslationBundle;
}): JSX.Element | null {
  const { record, trans } = props;
  const workbench = React.useContext(Workbench);
  const [noNotebook, setNoNotebook] = React.useState(false);
  if (workbench === null) {
    return null;
  }
  const magic = loadMagic(record.name, record.version, record.hash);
  const shell = loadShell(record.name, record.version, record.hash);
  return (
    <>
      <Button
        small
        minimal
        className="jp-SpackPanel-useNotebook"
        title={
          noNotebook
            ? trans.__('Open a notebook first, then insert: %1', magic)
            : trans.__('Use in this notebook: inserts %1', magic)
        }
        aria-label={trans.__('Use in this notebook')}
        onClick={() =>
          void workbench.useInNotebook(magic).then(ok => setNoNotebook(!ok))
        }
      >
        <addIcon.react tag="span" className="jp-SpackPanel-useIcon" />
      </Button>
      <Button
        small
        minimal
        className="jp-SpackPanel-useTerminal"
        title={trans.__('Open a terminal with it loaded: %1', shell)}
        aria-label={trans.__('Open a terminal with it loaded')}
        onClick={() => workbench.openTerminal(shell)}
      >
        <terminalIcon.react tag="span" className="jp-SpackPanel-useIcon" />
      </Button>
    </>
  );
}

export function InstalledView(props: {
  installed: IRemote<IInstalledRecord[]>;
  onUninstall: (record: IInstalledRecord) => void;
  onKernel: (record: IInstalledRecord) => void;
  onGc: () => void;
  trans: TranslationBundle;
}): JSX.Element {
  const { installed, trans } = props;
  if (installed.value === null) {
    return installed.error ? (
      <ErrorLine error={installed.error} />
    ) : (
      <Muted>{trans.__('Loading…')}</Muted>
    );
  }
  return <InstalledList {...props} records={installed.value} />;
}

/** One application: its row, what it is, and its dependencies folded under it. */
function Application(props: {
  entry: IInstalledEntry;
  onUninstall: (record: IInstalledRecord) => void;
  onKernel: (record: IInstalledRecord) => void;
  trans: TranslationBundle;
}): JSX.Element {
  const { entry, trans } = props;
  const { record, dependencies } = entry;
  return (
    <li data-package={record.name}>
      <Row
        record={record}
        onUninstall={props.onUninstall}
        onKernel={props.onKernel}
        trans={trans}
      />
      <Description record={record} />
      {dependencies.length > 0 && (
        <details className="jp-SpackPanel-folded">
          <summary>
            {trans._n('%1 dependency', '%1 dependencies', dependencies.length)}
          </summary>
          {dependencies.map(dep => (
            <Row key={dep.hash} record={dep} trans={trans} />
          ))}
        </details>
      )}
    </li>
  );
}

/**
 * The list itself, in two groups (applications, then the libraries and
 * dependencies they need, then what nothing needs), in its own scrolling
 * area, with a filter once it is long.
 */
function InstalledList(props: {
  installed: IRemote<IInstalledRecord[]>;
  records: IInstalledRecord[];
  onUninstall: (record: IInstalledRecord) => void;
  onKernel: (record: IInstalledRecord) => void;
  onGc: () => void;
  trans: TranslationBundle;
}): JSX.Element {
  const { installed, trans } = props;
  const [filter, setFilter] = React.useState('');
  const view = groupInstalled(props.records, filter);
  const shown =
    view.applications.length + view.libraries.length + view.unneeded.length;
  return (
    <div className="jp-SpackPanel-installed">
      {props.records.length > 8 && (
        <InputGroup
          type="search"
          className="jp-SpackPanel-installedFilter"
          placeholder={trans.__('Filter installed packages')}
          aria-label={trans.__('Filter installed packages')}
          value={filter}
          onChange={e => setFilter(e.currentTarget.value)}
        />
      )}
      {installed.error && <ErrorLine error={installed.error} />}
      {props.records.length === 0 && (
        <Muted>{trans.__('Nothing installed yet.')}</Muted>
      )}
      {props.records.length > 0 && shown === 0 && (
        <Muted>{trans.__('No installed package matches the filter.')}</Muted>
      )}
      <div className="jp-SpackPanel-installedGroups">
        {view.applications.length > 0 && (
          <Group
            kind="applications"
            title={trans.__('Applications')}
            tip={trans.__('What was installed on request')}
            count={view.applications.length}
          >
            <ul className="jp-SpackPanel-installedList">
              {view.applications.map(entry => (
                <Application
                  key={entry.record.hash}
                  entry={entry}
                  onUninstall={props.onUninstall}
                  onKernel={props.onKernel}
                  trans={trans}
                />
              ))}
            </ul>
          </Group>
        )}
        {view.libraries.length + view.unneeded.length > 0 && (
          <Group
            kind="libraries"
            title={trans.__('Libraries and dependencies')}
            tip={trans.__('Installed because an application needs them')}
            count={view.libraries.length + view.unneeded.length}
          >
            <ul className="jp-SpackPanel-libraryList">
              {view.libraries.map(({ record, neededBy }) => (
                <li key={record.hash} data-package={record.name}>
                  <Row record={record} trans={trans} />
                  <Description record={record} />
                  <div className="jp-SpackPanel-neededBy jp-SpackPanel-cut">
                    {trans.__(
                      'needed by %1',
                      neededBy.map(a => a.name).join(', ')
                    )}
                  </div>
                </li>
              ))}
            </ul>
            {view.unneeded.length > 0 && (
              <div className="jp-SpackPanel-orphans">
                <Muted>{trans.__('Not needed by any application:')}</Muted>
                {view.unneeded.map(r => (
                  <div key={r.hash} data-package={r.name}>
                    <Row
                      record={r}
                      onUninstall={props.onUninstall}
                      trans={trans}
                    />
                    <Description record={r} />
                  </div>
                ))}
              </div>
            )}
          </Group>
        )}
      </div>
      {props.records.length > 0 && (
        <div className="jp-SpackPanel-actions">
          <Button
            small
            minimal
            className="jp-SpackPanel-gc"
            disabled={!view.canCollect}
            title={trans.__(
              'Remove dependencies that no requested package needs'
            )}
            onClick={props.onGc}
          >
            {trans.__('Clean up unneeded (gc)')}
          </Button>
        </div>
      )}
    </div>
  );
}

/** One kind of installed package under its heading and count. */
function Group(props: {
  kind: string;
  title: string;
  tip: string;
  count: number;
  children: React.ReactNode;
}): JSX.Element {
  return (
    <section
      className="jp-SpackPanel-installedGroup"
      data-group={props.kind}
      aria-label={props.title}
    >
      <GroupTitle title={props.title} tip={props.tip} count={props.count} />
      {props.children}
    </section>
  );
}
