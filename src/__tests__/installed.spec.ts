import { closure, dependents, foldInstalled } from '../model/installed';
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
