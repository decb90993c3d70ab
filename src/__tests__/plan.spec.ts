import { summarizePlan } from '../model/plan';
import { PLAN } from './fixtures';

describe('summarizePlan', () => {
  it('splits the plan by action, requested packages first', () => {
    const s = summarizePlan(PLAN);
    expect(s.download.map(n => n.name)).toEqual(['demo-tool', 'libdemo-mid']);
    expect(s.reuse.map(n => n.name)).toEqual(['libdemo-base']);
    expect(s.external.map(n => n.name)).toEqual(['glibc']);
    expect(s.downloadBytes).toBe(7449);
    expect(s.unknownSizes).toBe(0);
    expect(s.canInstall).toBe(true);
    expect(s.nothingToDo).toBe(false);
  });

  it('refuses to install when a precheck fails, and says which', () => {
    const space = {
      name: 'space',
      ok: false,
      message: '10 MB free, about 2 GB needed',
      hint: 'free some space'
    };
    const s = summarizePlan({
      ...PLAN,
      ok: false,
      checks: [PLAN.checks[0], space]
    });
    expect(s.canInstall).toBe(false);
    expect(s.failed).toEqual([space]);
  });

  it('counts unknown sizes and sums the known ones when the total is unknown', () => {
    const nodes = PLAN.nodes.map(n =>
      n.name === 'libdemo-mid' ? { ...n, size: null } : n
    );
    const s = summarizePlan({ ...PLAN, nodes, download_bytes: null });
    expect(s.unknownSizes).toBe(1);
    expect(s.downloadBytes).toBe(4017);
  });

  it('has nothing to do when everything is reused', () => {
    const nodes = PLAN.nodes.map(n =>
      n.action === 'download' ? { ...n, action: 'reuse' as const } : n
    );
    const s = summarizePlan({ ...PLAN, nodes, download_bytes: 0 });
    expect(s.nothingToDo).toBe(true);
    expect(s.canInstall).toBe(false);
  });
});
