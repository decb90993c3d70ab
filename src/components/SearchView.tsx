/**
 * Search what this host can install: as-you-type (the model debounces),
 * grouped by package, paged by the server. Opening a package shows its
 * builds inline, where one is chosen and installed.
 */
import { TranslationBundle } from '@jupyterlab/translation';
import { Button, InputGroup, UseSignal } from '@jupyterlab/ui-components';
import * as React from 'react';

import { INoMatch, IPackageGroup } from '../api';
import { installedState } from '../model/builds';
import {
  ISearchState,
  SearchModel,
  groupDescription,
  splitByRole
} from '../model/search';
import { ActionButton, ErrorLine, GroupTitle, Muted } from './common';

/** What the results need to know of an installed build. */
type IInstalledLike = {
  hash: string;
  name: string;
  description?: string | null;
};

export function SearchView(props: {
  search: SearchModel;
  installed?: readonly IInstalledLike[] | null;
  selected: IPackageGroup | null;
  onSelect: (group: IPackageGroup | null) => void;
  renderDetail: () => React.ReactNode;
  onAddMirror?: () => void;
  trans: TranslationBundle;
}): JSX.Element {
  const { search, trans } = props;
  return (
    <UseSignal signal={search.changed} initialArgs={search.state}>
      {(_, state) => (
        <SearchBody
          state={state ?? search.state}
          search={search}
          selected={props.selected}
          onSelect={props.onSelect}
          renderDetail={props.renderDetail}
          installed={props.installed ?? null}
          onAddMirror={props.onAddMirror}
          trans={trans}
        />
      )}
    </UseSignal>
  );
}

/** Why nothing matched, with the next step as a button (a name, a version, a mirror). */
export function NoMatchView(props: {
  why: INoMatch;
  query: string;
  onQuery: (query: string) => void;
  onAddMirror?: () => void;
  trans: TranslationBundle;
}): JSX.Element {
  const { why, trans } = props;
  const name = props.query.trim().split(/[@\s%^+~/]/)[0];
  return (
    <div className="jp-SpackPanel-noMatch" data-kind={why.kind} role="status">
      <div className="jp-SpackPanel-noMatchMessage">
        {why.kind === 'no-mirror'
          ? trans.__('Nothing can be searched yet: %1.', why.message)
          : trans.__('Nothing this host can install: %1.', why.message)}
      </div>
      {why.kind === 'no-mirror' && props.onAddMirror && (
        <div className="jp-SpackPanel-actions">
          <ActionButton kind="accept" onClick={props.onAddMirror}>
            {trans.__('Add a mirror')}
          </ActionButton>
        </div>
      )}
      {why.suggestions.length > 0 && (
        <div className="jp-SpackPanel-suggestions">
          {trans.__('Did you mean')}{' '}
          {why.suggestions.map(n => (
            <button
              key={n}
              className="jp-SpackPanel-chip"
              onClick={() => props.onQuery(n)}
            >
              {n}
            </button>
          ))}
        </div>
      )}
      {why.kind === 'other-versions' && (
        <div className="jp-SpackPanel-suggestions">
          {trans.__('Versions in the mirrors:')}{' '}
          {why.versions.slice(0, 8).map(v => (
            <button
              key={v}
              className="jp-SpackPanel-chip"
              onClick={() => props.onQuery(`${name}@${v}`)}
            >
              {v}
            </button>
          ))}
        </div>
      )}
      {why.kind === 'other-targets' && (
        <>
          <Muted>
            {trans.__(
              'This host is %1; these builds are for %2:',
              why.host_target,
              why.targets.join(', ')
            )}
          </Muted>
          <ul className="jp-SpackPanel-unrunnable">
            {why.unrunnable.map(u => (
              <li key={u.hash} aria-disabled="true" title={u.reason ?? ''}>
                <span className="jp-SpackPanel-name">{`${u.name}@${u.version}`}</span>{' '}
                <span>{`${u.target} · ${u.mirror}`}</span>
                <div className="jp-SpackPanel-muted">{u.reason}</div>
              </li>
            ))}
          </ul>
        </>
      )}
    </div>
  );
}

function SearchBody(props: {
  state: ISearchState;
  installed: readonly IInstalledLike[] | null;
  search: SearchModel;
  selected: IPackageGroup | null;
  onSelect: (group: IPackageGroup | null) => void;
  renderDetail: () => React.ReactNode;
  onAddMirror?: () => void;
  trans: TranslationBundle;
}): JSX.Element {
  const { state, search, selected, trans } = props;
  const result = state.result;
  return (
    <div className="jp-SpackPanel-search">
      <InputGroup
        type="search"
        className="jp-SpackPanel-searchInput"
        placeholder={trans.__('Search packages, e.g. zlib or hdf5@1.14 +mpi')}
        aria-label={trans.__('Search packages')}
        value={state.query}
        rightIcon="ui-components:search"
        onChange={e => search.setQuery(e.currentTarget.value)}
        onKeyDown={e => {
          if (e.key === 'Enter') {
            void search.run();
          }
        }}
      />
      {state.loading && <Muted>{trans.__('Searching…')}</Muted>}
      {state.error && <ErrorLine error={state.error} />}
      {result !== null && !state.error && (
        <>
          <Muted>
            {result.total === null
              ? trans.__(
                  'Packages this host can install (more on the next pages)'
                )
              : result.total === 0
                ? result.why
                  ? null
                  : trans.__('Nothing this host can install matches.')
                : trans._n(
                    '%1 package this host can install',
                    '%1 packages this host can install',
                    result.total
                  )}
          </Muted>
          {result.total === 0 && result.why && (
            <NoMatchView
              why={result.why}
              query={state.query}
              onQuery={q => {
                search.setQuery(q);
                void search.run();
              }}
              onAddMirror={props.onAddMirror}
              trans={trans}
            />
          )}
          <ResultLists
            items={result.items}
            trans={trans}
            renderResult={group => {
              const open = selected?.name === group.name;
              const here = installedState(group, props.installed);
              const described = groupDescription(group, props.installed);
              return (
                <li
                  key={group.name}
                  className="jp-SpackPanel-result"
                  data-package={group.name}
                  data-open={open}
                >
                  <button
                    className="jp-SpackPanel-resultHead"
                    aria-expanded={open}
                    onClick={() => props.onSelect(open ? null : group)}
                  >
                    <span className="jp-SpackPanel-name">{group.name}</span>
                    {here !== null && (
                      <span
                        className="jp-SpackPanel-badge jp-SpackPanel-installedBadge"
                        data-state={here}
                      >
                        {here === 'installed'
                          ? trans.__('installed')
                          : trans.__('installed, newer build available')}
                      </span>
                    )}
                    <span className="jp-SpackPanel-versions">
                      {group.versions.slice(0, 3).join(', ')}
                      {group.versions.length > 3 && ' …'}
                    </span>
                    <span className="jp-SpackPanel-muted">
                      {trans._n('%1 build', '%1 builds', group.builds.length)}
                    </span>
                  </button>
                  {described && (
                    <div
                      className="jp-SpackPanel-description"
                      title={described}
                    >
                      {described}
                    </div>
                  )}
                  {open && props.renderDetail()}
                </li>
              );
            }}
          />
          {(result.page > 1 || result.has_more) && (
            <div className="jp-SpackPanel-pager">
              <Button
                small
                minimal
                disabled={result.page <= 1}
                onClick={() => void search.setPage(result.page - 1)}
              >
                {trans.__('Previous')}
              </Button>
              <span>
                {result.pages === null
                  ? trans.__('Page %1', result.page)
                  : trans.__('Page %1 of %2', result.page, result.pages)}
              </span>
              <Button
                small
                minimal
                disabled={!result.has_more}
                onClick={() => void search.setPage(result.page + 1)}
              >
                {trans.__('Next')}
              </Button>
            </div>
          )}
        </>
      )}
    </div>
  );
}

/** The results: applications apart from libraries when a page has both. */
function ResultLists(props: {
  items: IPackageGroup[];
  renderResult: (group: IPackageGroup) => JSX.Element;
  trans: TranslationBundle;
}): JSX.Element {
  const { trans } = props;
  const { applications, libraries } = splitByRole(props.items);
  if (applications.length === 0 || libraries.length === 0) {
    return (
      <ul className="jp-SpackPanel-results" aria-label={trans.__('Results')}>
        {props.items.map(props.renderResult)}
      </ul>
    );
  }
  const groups: [string, string, string, IPackageGroup[]][] = [
    [
      'applications',
      trans.__('Applications'),
      trans.__('Nothing in the mirrors links to these: what people install'),
      applications
    ],
    [
      'libraries',
      trans.__('Libraries'),
      trans.__('Other packages of the mirrors link to these'),
      libraries
    ]
  ];
  return (
    <>
      {groups.map(([key, title, tip, items]) => (
        <div key={key} className="jp-SpackPanel-resultGroup" data-group={key}>
          <GroupTitle title={title} tip={tip} count={items.length} />
          <ul className="jp-SpackPanel-results" aria-label={title}>
            {items.map(props.renderResult)}
          </ul>
        </div>
      ))}
    </>
  );
}
