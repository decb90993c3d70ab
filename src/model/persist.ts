/**
 * What survives a page reload besides the server's own state: the search
 * text, kept in JupyterLab's state database (saved with the workspace).
 * A running install needs nothing here: the model finds it with GET /tasks.
 */
import { IStateDB } from '@jupyterlab/statedb';

import { SearchModel } from './search';

/** Where the panel keeps what should survive a page reload (the search text). */
export const STATE_KEY = 'jupyter-spackcache:plugin:panel';

/** Restore the last search, then keep saving it when it changes. */
export function persistSearch(
  search: SearchModel,
  db: IStateDB
): Promise<void> {
  return db.fetch(STATE_KEY).then(saved => {
    const query =
      typeof saved === 'object' &&
      saved !== null &&
      'query' in saved &&
      typeof saved.query === 'string'
        ? saved.query
        : '';
    if (query && search.state.query === '') {
      search.setQuery(query);
      void search.run();
    }
    let last = query;
    search.changed.connect((_, state) => {
      if (state.query !== last) {
        last = state.query;
        void db.save(STATE_KEY, { query: state.query });
      }
    });
  });
}
