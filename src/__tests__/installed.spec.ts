import {
  closure,
  dependents,
  foldInstalled,
  groupInstalled
} from '../model/installed';
import { record } from './fixtures';

const base = record('libbase', 'b', false, ['glibc-not-in-store']);
const mid = record('libmid', 'm', false, ['b']);
const tool = record('tool', 't', true, ['m']);
const other = record('another', 'o', true, ['b']);
const orphan = record('leftover', 'l', false);

describe('foldInstalled', () => {
  it('lists explicit packages first by name, dependencies folded under each', () => {
    const view = foldInstalled([base, mid, tool, other, orphan]);
    expect(view.explicit.map(e => e.record.name)).toEqual(['another', 'tool']);
    expect(view.explicit[1].dependencies.map(d => d.name)).toEqual([
      'libbase',
      'libmid'
    ]);
    expect(view.orphans.map(r => r.name)).toEqual(['leftover']);
  });

  it('survives dependency cycles and missing records', () => {
    const a = record('a', 'a', true, ['c']);
    const c = record('c', 'c', false, ['a', 'gone']);
    const index = new Map([a, c].map(r => [r.hash, r]));
    expect(closure(a, index).map(r => r.name)).toEqual(['c']);
  });
});

describe('dependents', () => {
  it('names everything installed that still needs the package', () => {
    const all = [base, mid, tool, other, orphan];
    expect(dependents(all, 'b').map(r => r.name)).toEqual([
      'another',
      'libmid',
      'tool'
    ]);
    expect(dependents(all, 't')).toEqual([]);
  });
});

describe('groupInstalled', () => {
  const all = [base, mid, tool, other, orphan];

  it('groups applications apart from the libraries they need', () => {
    const g = groupInstalled(all);
    expect(g.applications.map(e => e.record.name)).toEqual(['another', 'tool']);
    expect(
      g.libraries.map(l => [l.record.name, l.neededBy.map(a => a.name)])
    ).toEqual([
      ['libbase', ['another', 'tool']],
      ['libmid', ['tool']]
    ]);
    expect(g.unneeded.map(r => r.name)).toEqual(['leftover']);
    expect(g.canCollect).toBe(true);
  });

  it('filters each group without making a needed library look unneeded', () => {
    const g = groupInstalled(all, 'LIBBASE');
    expect(g.applications).toEqual([]);
    expect(g.libraries.map(l => l.record.name)).toEqual(['libbase']);
    expect(g.unneeded).toEqual([]);
    expect(g.canCollect).toBe(true); // gc still has `leftover` to remove
    // an application's name keeps the libraries it needs
    const t = groupInstalled(all, 'tool');
    expect(t.applications.map(e => e.record.name)).toEqual(['tool']);
    expect(t.libraries.map(l => l.record.name)).toEqual(['libbase', 'libmid']);
  });

  it('matches descriptions too', () => {
    const described = { ...tool, description: 'Compresses files quickly' };
    const g = groupInstalled([base, mid, described, other], 'compress');
    expect(g.applications.map(e => e.record.name)).toEqual(['tool']);
    expect(g.canCollect).toBe(false);
  });
});
