/**
 * Search what this host can install: as-you-type (the model debounces),
 * grouped by package, paged by the server. Opening a package shows its
 * builds inline, where one is chosen and installed.
 */
import { TranslationBundle } from '@jupyterlab/translation';
import { Button, InputGroup, UseSignal } from '@jupyterlab/ui-components';
import * as React from 'react';

import { IPackageGroup } from '../api';
import { ISearchState, SearchModel } from '../model/search';
import { ErrorLine, Muted } from './common';

export function SearchView(props: {
  search: SearchModel;
  selected: IPackageGroup | null;
  onSelect: (group: IPackageGroup | null) => void;
  renderDetail: () => React.ReactNode;
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
          trans={trans}
        />
      )}
    </UseSignal>
  );
}

function SearchBody(props: {
  state: ISearchState;
  search: SearchModel;
  selected: IPackageGroup | null;
  onSelect: (group: IPackageGroup | null) => void;
  renderDetail: () => React.ReactNode;
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
                ? trans.__('Nothing this host can install matches.')
                : trans._n(
                    '%1 package this host can install',
                    '%1 packages this host can install',
                    result.total
                  )}
          </Muted>
          <ul
            className="jp-SpackPanel-results"
            aria-label={trans.__('Results')}
          >
            {result.items.map(group => {
              const open = selected?.name === group.name;
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
                    <span className="jp-SpackPanel-versions">
                      {group.versions.slice(0, 3).join(', ')}
                      {group.versions.length > 3 && ' …'}
                    </span>
                    <span className="jp-SpackPanel-muted">
                      {trans._n('%1 build', '%1 builds', group.builds.length)}
                    </span>
                  </button>
                  {open && props.renderDetail()}
                </li>
              );
            })}
          </ul>
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
