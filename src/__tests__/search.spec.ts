import { ISpecPage, SpackApiError } from '../api';
import { SearchModel, groupDescription, splitByRole } from '../model/search';

function page(query: string, total = 1): ISpecPage {
  return {
    query,
    page: 1,
    per_page: 25,
    total,
    pages: 1,
    has_more: false,
    items: []
  };
}

/** A search function whose answers the test releases one by one. */
function scripted(): {
  fn: (q: string, p: number) => Promise<ISpecPage>;
  calls: Array<{
    query: string;
    page: number;
    resolve: (r: ISpecPage) => void;
    reject: (e: unknown) => void;
  }>;
} {
  const calls: Array<{
    query: string;
    page: number;
    resolve: (r: ISpecPage) => void;
    reject: (e: unknown) => void;
  }> = [];
  const fn = (query: string, p: number): Promise<ISpecPage> =>
    new Promise((resolve, reject) =>
      calls.push({ query, page: p, resolve, reject })
    );
  return { fn, calls };
}

describe('SearchModel', () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  it('debounces typing into one request for the last query', () => {
    const { fn, calls } = scripted();
    const model = new SearchModel(fn, 300);
    model.setQuery('z');
    jest.advanceTimersByTime(200);
    model.setQuery('zl');
    jest.advanceTimersByTime(200);
    model.setQuery('zlib');
    expect(calls).toHaveLength(0);
    jest.advanceTimersByTime(300);
    expect(calls.map(c => c.query)).toEqual(['zlib']);
    expect(model.state.loading).toBe(true);
  });

  it('lets only the newest answer change the results', async () => {
    const { fn, calls } = scripted();
    const model = new SearchModel(fn, 0);
    void model.run();
    model.setQuery('hdf5');
    jest.advanceTimersByTime(0);
    expect(calls).toHaveLength(2);
    calls[1].resolve(page('hdf5', 3));
    await Promise.resolve();
    calls[0].resolve(page('', 99)); // the older, slower answer arrives last
    await Promise.resolve();
    await Promise.resolve();
    expect(model.state.result?.total).toBe(3);
    expect(model.state.loading).toBe(false);
  });

  it('shows a failed search as its one-line reason and hint', async () => {
    const { fn, calls } = scripted();
    const model = new SearchModel(fn, 0);
    const done = model.run();
    calls[0].reject(
      new SpackApiError(400, {
        code: 'spec-syntax',
        message: "expected a version after '@' at column 2",
        hint: null
      })
    );
    await done;
    expect(model.state.error?.message).toBe(
      "expected a version after '@' at column 2"
    );
    expect(model.state.loading).toBe(false);
  });

  it('holds a parse error while the user is still typing', async () => {
    const { fn, calls } = scripted();
    const model = new SearchModel(fn, 300);
    model.setQuery('hdf5@');
    jest.advanceTimersByTime(300);
    calls[0].reject(
      new SpackApiError(400, {
        code: 'spec-syntax',
        message: "expected a version after '@' at column 6",
        hint: null
      })
    );
    await Promise.resolve();
    await Promise.resolve();
    expect(model.state.error).toBeNull(); // not red at once
    model.setQuery('hdf5@1'); // typing on: the held error is dropped
    jest.advanceTimersByTime(model.syntaxGraceMs);
    expect(model.state.error).toBeNull();
    jest.advanceTimersByTime(300);
    calls[1].reject(
      new SpackApiError(400, {
        code: 'spec-syntax',
        message: 'still bad',
        hint: null
      })
    );
    await Promise.resolve();
    await Promise.resolve();
    jest.advanceTimersByTime(model.syntaxGraceMs); // the user stopped here: now say it
    expect(model.state.error?.message).toBe('still bad');
    model.dispose();
  });

  it('pages immediately and resets to page 1 on a new query', () => {
    const { fn, calls } = scripted();
    const model = new SearchModel(fn, 300);
    void model.setPage(3);
    expect(calls.map(c => c.page)).toEqual([3]);
    model.setQuery('x');
    expect(model.state.page).toBe(1);
    model.dispose();
    jest.advanceTimersByTime(1000);
    expect(calls).toHaveLength(1);
  });
});

describe('groupDescription', () => {
  const group = {
    name: 'zlib',
    versions: ['1.3'],
    targets: ['x86_64'],
    mirrors: ['demo'],
    builds: []
  };

  it("takes the server's description first", () => {
    expect(
      groupDescription({ ...group, description: 'From upstream.' }, [
        { name: 'zlib', description: 'Installed here.' }
      ])
    ).toBe('From upstream.');
  });

  it('falls back on a build installed since the search', () => {
    const installed = [
      { name: 'zlib-ng', description: 'Another package.' },
      { name: 'zlib', description: null },
      { name: 'zlib', description: 'Compression library.' }
    ];
    expect(groupDescription({ ...group, description: null }, installed)).toBe(
      'Compression library.'
    );
  });

  it('says nothing when nobody knows', () => {
    expect(groupDescription(group, null)).toBeNull();
    expect(groupDescription(group, [{ name: 'zlib' }])).toBeNull();
  });
});

describe('splitByRole', () => {
  const g = (name: string, role?: 'application' | 'library') => ({
    name,
    versions: ['1'],
    targets: [],
    mirrors: [],
    builds: [],
    role
  });

  it('puts applications first and keeps the order within each kind', () => {
    const { applications, libraries } = splitByRole([
      g('a-lib', 'library'),
      g('b-app', 'application'),
      g('c-lib', 'library'),
      g('d-app', 'application')
    ]);
    expect(applications.map(x => x.name)).toEqual(['b-app', 'd-app']);
    expect(libraries.map(x => x.name)).toEqual(['a-lib', 'c-lib']);
  });

  it('treats a group without a role (an older server) as an application', () => {
    expect(splitByRole([g('old')]).applications.map(x => x.name)).toEqual([
      'old'
    ]);
  });
});
