import { nullTranslator } from '@jupyterlab/translation';

import { IBuild, IMirror, IPackageGroup } from '../api';
import { toChanged } from '../events';
import {
  bestBuild,
  buildDifferences,
  installedState,
  mirrorBadge
} from '../model/builds';

const trans = nullTranslator.load('jupyter_spackcache');

function build(hash: string, patch: Partial<IBuild> = {}): IBuild {
  return {
    hash,
    version: '1.0',
    target: 'x86_64_v4',
    os: 'ubuntu24.04',
    platform: 'linux',
    variants: { shared: true },
    mirror: 'a',
    size: null,
    ...patch
  };
}

function group(builds: IBuild[], best: string | null): IPackageGroup {
  return {
    name: 'greet',
    versions: ['1.0'],
    targets: [],
    mirrors: [],
    builds,
    best
  };
}

function mirror(patch: Partial<IMirror>): IMirror {
  return {
    name: 'a',
    url: 'https://a',
    signed: true,
    origin: 'user',
    pinned_keys: [],
    layout: 'v3',
    nodes: 3,
    ...patch
  };
}

describe('bestBuild', () => {
  it('pre-selects what the resolver chose, not the first listed', () => {
    const v3 = build('v3hash', { target: 'x86_64_v3', mirror: 'b' });
    const v4 = build('v4hash');
    expect(bestBuild(group([v3, v4], 'v4hash'))?.hash).toBe('v4hash');
  });

  it('falls back to the first build when the server named none', () => {
    expect(bestBuild(group([build('x'), build('y')], null))?.hash).toBe('x');
    expect(bestBuild(group([], null))).toBeNull();
  });
});

describe('buildDifferences', () => {
  it('names target, mirror, variants and version', () => {
    const best = build('best');
    const other = build('other', {
      target: 'x86_64_v3',
      mirror: 'peer',
      version: '0.9',
      variants: { shared: false }
    });
    expect(buildDifferences(other, best, trans)).toEqual([
      'version 0.9',
      'target x86_64_v3',
      'from peer',
      'variants ~shared'
    ]);
    expect(buildDifferences(best, best, trans)).toEqual([]);
  });
});

describe('mirrorBadge', () => {
  it('shows the state the server computed for this mirror', () => {
    const trust = (state: 'trusted' | 'untrusted' | 'unsigned' | 'unknown') =>
      mirror({
        trust: { state, keys: ['A'], trusted_keys: [], problem: 'offline' }
      });
    expect(mirrorBadge(trust('trusted'), trans).state).toBe('trusted');
    expect(mirrorBadge(trust('untrusted'), trans).label).toBe(
      'signed, key not trusted'
    );
    expect(mirrorBadge(trust('unknown'), trans).detail).toBe('offline');
    expect(mirrorBadge(mirror({ signed: false }), trans).state).toBe(
      'unsigned'
    );
  });

  it('never guesses "trusted" without the server saying so', () => {
    expect(mirrorBadge(mirror({}), trans).state).toBe('unknown');
  });
});

describe('toChanged', () => {
  it('reads the parts of a changed event and ignores other events', () => {
    const raw = (event: string, data: string) => ({ id: '1', event, data });
    expect(toChanged(raw('changed', '{"task":"","what":["keys"]}'))).toEqual([
      'keys'
    ]);
    expect(
      toChanged(raw('changed', '{"task":"","what":["kernels","bogus"]}'))
    ).toEqual(['kernels']);
    expect(toChanged(raw('task', '{}'))).toBeNull();
    expect(toChanged(raw('changed', 'not json'))).toBeNull();
  });
});

describe('installedState', () => {
  const g = group([build('old', { version: '0.9' }), build('new')], 'new');
  it('says installed when the best build is', () => {
    expect(installedState(g, [{ hash: 'new', name: 'greet' }])).toBe(
      'installed'
    );
  });
  it('says a newer build is available when only another one is', () => {
    expect(installedState(g, [{ hash: 'old', name: 'greet' }])).toBe(
      'newer-available'
    );
  });
  it('says nothing when the package is not installed', () => {
    expect(installedState(g, [{ hash: 'x', name: 'other' }])).toBeNull();
    expect(installedState(g, null)).toBeNull();
  });
});
