import { placeOf, summarizePlan } from '../model/plan';
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

describe('placeOf', () => {
  const root = PLAN.install_root;
  const node = (name: string) => PLAN.nodes.find(n => n.name === name)!;

  it('shows a new or installed prefix below the install root', () => {
    expect(placeOf(node('demo-tool'), root)).toEqual({
      kind: 'new',
      path: '/tmp/sch1/opt/linux-x86_64/demo-tool-1.0.0-xtcna5s',
      short: 'linux-x86_64/demo-tool-1.0.0-xtcna5s',
      upstream: null
    });
    expect(placeOf(node('libdemo-base'), `${root}/`).kind).toBe('installed');
    // a prefix elsewhere (another install root) is shown whole
    const elsewhere = { ...node('libdemo-base'), prefix: '/other/x-1' };
    expect(placeOf(elsewhere, root).short).toBe('/other/x-1');
  });

  it('names the upstream tree and the system', () => {
    const shared = {
      ...node('libdemo-base'),
      prefix: '/apps/opt/linux-x86_64/libdemo-base-1.2.0-chafrhu',
      upstream: '/apps/opt'
    };
    expect(placeOf(shared, root)).toEqual({
      kind: 'upstream',
      path: '/apps/opt/linux-x86_64/libdemo-base-1.2.0-chafrhu',
      short: 'linux-x86_64/libdemo-base-1.2.0-chafrhu',
      upstream: '/apps/opt'
    });
    expect(placeOf({ ...node('glibc'), prefix: '/usr' }, root).kind).toBe(
      'system'
    );
    expect(placeOf(node('glibc'), root).kind).toBe('unknown');
    // the install root itself is no package's prefix: shown whole
    const odd = { ...node('demo-tool'), prefix: root };
    expect(placeOf(odd, root).short).toBe(root);
  });
});
