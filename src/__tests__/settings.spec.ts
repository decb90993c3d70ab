import { StateDB } from '@jupyterlab/statedb';

import { ISpecPage } from '../api';
import { STATE_KEY, persistSearch } from '../model/persist';
import { SearchModel } from '../model/search';
import { DEFAULT_SETTINGS, readSettings } from '../model/settings';

describe('readSettings', () => {
  it('takes valid values and falls back to the defaults for the rest', () => {
    expect(
      readSettings({ pageSize: 50, registerKernel: true, searchDebounce: 'x' })
    ).toEqual({
      ...DEFAULT_SETTINGS,
      pageSize: 50,
      registerKernel: true
    });
    expect(readSettings({})).toEqual(DEFAULT_SETTINGS);
  });
});

describe('persistSearch', () => {
  const empty: ISpecPage = {
    query: null,
    page: 1,
    per_page: 25,
    total: 0,
    pages: 1,
    has_more: false,
    items: []
  };

  it('restores the last query and saves new ones', async () => {
    const db = new StateDB();
    await db.save(STATE_KEY, { query: 'zlib' });
    const queries: string[] = [];
    const search = new SearchModel(async q => {
      queries.push(q);
      return empty;
    }, 0);
    await persistSearch(search, db);
    expect(search.state.query).toBe('zlib');
    expect(queries).toEqual(['zlib']);
    search.setQuery('hdf5');
    await new Promise(resolve => setTimeout(resolve, 0));
    expect(await db.fetch(STATE_KEY)).toEqual({ query: 'hdf5' });
    search.dispose();
  });

  it('ignores a saved value of another shape', async () => {
    const db = new StateDB();
    await db.save(STATE_KEY, ['not', 'an', 'object']);
    const search = new SearchModel(async () => empty, 0);
    await persistSearch(search, db);
    expect(search.state.query).toBe('');
    search.dispose();
  });
});
