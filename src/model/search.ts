/**
 * As-you-type search: debounced, paged by the server, and immune to answers
 * arriving out of order (only the newest request may change the results).
 */
import { ISignal, Signal } from '@lumino/signaling';

import { IErrorInfo, IPackageGroup, ISpecPage, describeError } from '../api';

/** Fetch one page of results (the API call, injected so tests need no server). */
export type SearchFn = (query: string, page: number) => Promise<ISpecPage>;

export interface ISearchState {
  query: string;
  page: number;
  /** The last answer for `query` (null before the first one). */
  result: ISpecPage | null;
  loading: boolean;
  /** Why the last search failed (a bad spec is a one-line parser message). */
  error: IErrorInfo | null;
}

/**
 * What a result's package is: the server's description (from an installed
 * build here or upstream, when it answered), else that of a build installed
 * since, from the Installed list the panel keeps current; null when neither
 * knows (build caches carry no descriptions).
 */
export function groupDescription(
  group: IPackageGroup,
  installed: readonly { name: string; description?: string | null }[] | null
): string | null {
  if (group.description) {
    return group.description;
  }
  const same = (installed ?? []).find(
    r => r.name === group.name && r.description
  );
  return same?.description ?? null;
}

/**
 * A page of results as the panel shows it: applications first, then the
 * libraries they link to, each in the server's (name) order. One list when
 * the page holds only one kind: a heading over everything says nothing.
 */
export function splitByRole(items: readonly IPackageGroup[]): {
  applications: IPackageGroup[];
  libraries: IPackageGroup[];
} {
  return {
    applications: items.filter(g => g.role !== 'library'),
    libraries: items.filter(g => g.role === 'library')
  };
}

export class SearchModel {
  constructor(search: SearchFn, debounceMs = 300) {
    this._search = search;
    this.debounceMs = debounceMs;
  }

  /** Milliseconds of quiet typing before a request is sent. */
  debounceMs: number;

  /**
   * A spec the user is still typing (`hdf5@`) does not parse yet: its error
   * shows only after this much more quiet, or at once on Enter.
   */
  syntaxGraceMs = 1200;

  get changed(): ISignal<this, ISearchState> {
    return this._changed;
  }

  get state(): ISearchState {
    return this._state;
  }

  /** The user typed: search after a pause, from the first page. */
  setQuery(query: string): void {
    this._cancelGrace();
    this._update({ query, page: 1, error: null });
    this._schedule(this.debounceMs);
  }

  /** Go to another page of the current results at once. */
  setPage(page: number): Promise<void> {
    this._update({ page });
    return this.run();
  }

  /** Search now (Enter pressed, or a refresh after the mirrors changed). */
  run(): Promise<void> {
    return this._run(false);
  }

  private _run(typing: boolean): Promise<void> {
    this._cancelTimer();
    this._cancelGrace();
    const seq = ++this._seq;
    const { query, page } = this._state;
    this._update({ loading: true });
    return this._search(query, page).then(
      result => {
        if (seq === this._seq) {
          this._update({ result, loading: false, error: null });
        }
      },
      reason => {
        if (seq !== this._seq) {
          return;
        }
        const error = describeError(reason);
        if (typing && error.code === 'spec-syntax') {
          // probably half-typed: say so only if the user stops here
          this._update({ loading: false });
          this._grace = setTimeout(() => {
            this._grace = null;
            if (seq === this._seq) {
              this._update({ error });
            }
          }, this.syntaxGraceMs);
          return;
        }
        this._update({ loading: false, error });
      }
    );
  }

  /** Stop a pending debounced search (the panel is being disposed). */
  dispose(): void {
    this._cancelTimer();
    this._cancelGrace();
    this._seq++;
  }

  private _schedule(delay: number): void {
    this._cancelTimer();
    this._timer = setTimeout(() => {
      this._timer = null;
      void this._run(true);
    }, delay);
  }

  private _cancelGrace(): void {
    if (this._grace !== null) {
      clearTimeout(this._grace);
      this._grace = null;
    }
  }

  private _cancelTimer(): void {
    if (this._timer !== null) {
      clearTimeout(this._timer);
      this._timer = null;
    }
  }

  private _update(patch: Partial<ISearchState>): void {
    this._state = { ...this._state, ...patch };
    this._changed.emit(this._state);
  }

  private readonly _search: SearchFn;
  private _state: ISearchState = {
    query: '',
    page: 1,
    result: null,
    loading: false,
    error: null
  };
  private _seq = 0;
  private _timer: ReturnType<typeof setTimeout> | null = null;
  private _grace: ReturnType<typeof setTimeout> | null = null;
  private readonly _changed = new Signal<this, ISearchState>(this);
}
