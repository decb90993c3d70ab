/**
 * What is installed: explicitly requested packages first, each with its
 * dependencies folded under it; then leftovers that gc would remove.
 */
import { TranslationBundle } from '@jupyterlab/translation';
import {
  Button,
  InputGroup,
  deleteIcon,
  kernelIcon
} from '@jupyterlab/ui-components';
import * as React from 'react';

import { IInstalledRecord } from '../api';
import { shortSpec, variantsText } from '../model/format';
import { foldInstalled } from '../model/installed';
import { IRemote } from '../model/spack';
import { ErrorLine, Muted } from './common';

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
      {props.onKernel && (
        <Button
          small
          minimal
          className="jp-SpackPanel-kernel"
          title={trans.__(
            'Register %1 and its dependencies as a Jupyter kernel',
            record.name
          )}
          aria-label={trans.__('Kernel')}
          onClick={() => props.onKernel?.(record)}
        >
          <kernelIcon.react tag="span" className="jp-SpackPanel-btnIcon" />
          <span className="jp-SpackPanel-btnLabel">{trans.__('Kernel')}</span>
        </Button>
      )}
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

/** The list itself: its own scrolling area, with a filter once it is long. */
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
  const wanted = filter.trim().toLowerCase();
  const view = foldInstalled(
    wanted === ''
      ? props.records
      : props.records.filter(
          r =>
            r.name.toLowerCase().includes(wanted) ||
            props.records.some(
              p =>
                p.name.toLowerCase().includes(wanted) &&
                p.dependencies.includes(r.hash)
            )
        )
  );
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
      {view.explicit.length === 0 && view.orphans.length === 0 && (
        <Muted>{trans.__('Nothing installed yet.')}</Muted>
      )}
      <ul className="jp-SpackPanel-installedList">
        {view.explicit.map(({ record, dependencies }) => (
          <li key={record.hash} data-package={record.name}>
            <Row
              record={record}
              onUninstall={props.onUninstall}
              onKernel={props.onKernel}
              trans={trans}
            />
            {dependencies.length > 0 && (
              <details className="jp-SpackPanel-folded">
                <summary>
                  {trans._n(
                    '%1 dependency',
                    '%1 dependencies',
                    dependencies.length
                  )}
                </summary>
                {dependencies.map(dep => (
                  <Row key={dep.hash} record={dep} trans={trans} />
                ))}
              </details>
            )}
          </li>
        ))}
      </ul>
      {view.orphans.length > 0 && (
        <div className="jp-SpackPanel-orphans">
          <Muted>{trans.__('Not needed by any requested package:')}</Muted>
          {view.orphans.map(r => (
            <Row
              key={r.hash}
              record={r}
              onUninstall={props.onUninstall}
              trans={trans}
            />
          ))}
        </div>
      )}
      {props.records.length > 0 && (
        <div className="jp-SpackPanel-actions">
          <Button
            small
            minimal
            className="jp-SpackPanel-gc"
            disabled={view.orphans.length === 0}
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
