/**
 * The panel model against a scripted server: what it loads, how an install
 * goes from plan to finished task, and how refusals become notices.
 */
import { ServerConnection } from '@jupyterlab/services';
import { Signal } from '@lumino/signaling';

import { IHost, ITask } from '../api';
import { IInstallProgress } from '../model/progress';
import { SpackModel } from '../model/spack';
import { PLAN, QUEUED_TASK, record } from './fixtures';

const HOST: IHost = {
  platform: 'linux',
  os: 'debian12',
  target: 'zen3',
  family: 'x86_64',
  compatible_targets: ['zen3', 'zen2', 'x86_64_v3'],
  libc: { name: 'glibc', version: '2.36', path: '/usr' },
  install_root: {
    path: '/opt',
    free_bytes: 1e9,
    total_bytes: 2e9,
    free_inodes: 1000
  }
};
const DONE: ITask = { ...QUEUED_TASK, state: 'done' };

type Route = (req: Request) => Response | Promise<Response>;

function server(routes: Record<string, Route>): {
  settings: ServerConnection.ISettings;
  requests: Request[];
} {
  const requests: Request[] = [];
  const settings = ServerConnection.makeSettings({
    baseUrl: 'http://127.0.0.1:8888/',
    fetch: (async (input: RequestInfo | URL) => {
      const req = input as Request;
      requests.push(req);
      const path = new URL(req.url).pathname.replace('/spackcache/api/', '');
      const route = routes[`${req.method} ${path}`];
      return route
        ? route(req)
        : new Response(
            '{"error": {"code": "not-found", "message": "no route"}}',
            {
              status: 404
            }
          );
    }) as typeof fetch
  });
  return { settings, requests };
}

const json = (body: unknown, status = 200): Response =>
  new Response(JSON.stringify(body), { status });

function sse(...tasks: ITask[]): Response {
  const text = tasks
    .map(
      (t, i) =>
        `id: ${i + 1}\nevent: task\ndata: ${JSON.stringify({ ...t, task: t.id })}\n\n`
    )
    .join('');
  return new Response(text, {
    headers: { 'Content-Type': 'text/event-stream' }
  });
}

function finished(model: SpackModel): Promise<IInstallProgress> {
  return new Promise(resolve => {
    const slot = (_: SpackModel, p: IInstallProgress): void => {
      model.taskFinished.disconnect(slot);
      resolve(p);
    };
    model.taskFinished.connect(slot);
  });
}

const BASE_ROUTES: Record<string, Route> = {
  'GET host': () => json(HOST),
  'GET mirrors': () =>
    json([
      {
        name: 'demo',
        url: 'http://127.0.0.1:1/',
        signed: true,
        origin: 'user',
        pinned_keys: [],
        layout: 'v3',
        nodes: 4
      }
    ]),
  'GET keys': () => json([]),
  'GET installed': () => json([record('tool', 't', true)]),
  'GET tasks': () => json([]),
  'GET specs': () =>
    json({
      query: null,
      page: 1,
      per_page: 25,
      total: null,
      pages: null,
      has_more: true,
      items: []
    })
};

afterEach(() => Signal.clearData(SpackModel));

describe('SpackModel', () => {
  it('loads host, mirrors, keys and installed packages', async () => {
    const { settings } = server(BASE_ROUTES);
    const model = new SpackModel({ settings });
    await model.refresh();
    expect(model.state.host.value?.target).toBe('zen3');
    expect(model.state.mirrors.value?.map(m => m.name)).toEqual(['demo']);
    expect(model.state.installed.value?.map(r => r.name)).toEqual(['tool']);
    expect(model.state.install).toBeNull();
    // the first page of what can be installed is listed before anything is typed
    expect(model.search.state.result?.has_more).toBe(true);
    model.dispose();
  });

  it('re-attaches to a running task after a reload and follows it to the end', async () => {
    const { settings } = server({
      ...BASE_ROUTES,
      'GET tasks': () => json([{ ...QUEUED_TASK, state: 'running' }, DONE]),
      'GET events': () => sse({ ...QUEUED_TASK, state: 'running' }, DONE),
      [`GET tasks/${QUEUED_TASK.id}`]: () => json(DONE)
    });
    const model = new SpackModel({ settings });
    const end = finished(model);
    await model.refresh();
    expect(model.state.install?.taskId).toBe(QUEUED_TASK.id);
    expect((await end).state).toBe('done');
    expect(model.state.install?.state).toBe('done');
    model.dispose();
  });

  it('shows the plan first, then installs with the kernel flag once confirmed', async () => {
    const { settings, requests } = server({
      ...BASE_ROUTES,
      'POST plan': () => json(PLAN),
      'POST installs': () => json(QUEUED_TASK, 202),
      'GET events': () => sse(DONE),
      [`GET tasks/${QUEUED_TASK.id}`]: () => json(DONE)
    });
    const model = new SpackModel({ settings });
    await model.requestPlan(['demo-tool']);
    expect(model.state.plan?.plan.value).toEqual(PLAN);
    expect(
      requests.some(r => r.method === 'POST' && r.url.includes('/installs'))
    ).toBe(false);
    model.setKernel(true);
    const end = finished(model);
    await model.confirmInstall();
    expect(model.state.plan).toBeNull();
    const install = requests.find(r => r.url.includes('/installs'));
    expect(await install?.json()).toEqual({
      specs: ['demo-tool'],
      kernel: true
    });
    expect((await end).state).toBe('done');
    model.dispose();
  });

  it('redraws a burst of progress events once, not once per event', async () => {
    const events = Array.from({ length: 50 }, (_, i) => {
      const data = {
        task: QUEUED_TASK.id,
        hash: 'a',
        name: 'liba',
        version: '1',
        stage: 'download',
        bytes_done: i * 10,
        bytes_total: 500,
        message: null,
        time: 0
      };
      return `id: ${i + 2}\nevent: progress\ndata: ${JSON.stringify(data)}\n\n`;
    });
    const running = { ...QUEUED_TASK, state: 'running' as const };
    const body =
      `id: 1\nevent: task\ndata: ${JSON.stringify({ ...running, task: running.id })}\n\n` +
      events.join('') +
      `id: 99\nevent: task\ndata: ${JSON.stringify({ ...DONE, task: DONE.id })}\n\n`;
    const { settings } = server({
      ...BASE_ROUTES,
      'POST plan': () => json(PLAN),
      'POST installs': () => json(QUEUED_TASK, 202),
      'GET events': () => new Response(body),
      [`GET tasks/${QUEUED_TASK.id}`]: () => json(DONE)
    });
    const model = new SpackModel({ settings });
    await model.requestPlan(['demo-tool']);
    let redraws = 0;
    model.changed.connect((_, state) => {
      if (state.install !== null) {
        redraws++;
      }
    });
    const end = finished(model);
    await model.confirmInstall();
    await end;
    expect(model.state.install?.state).toBe('done');
    expect(redraws).toBeLessThan(6);
    model.dispose();
  });

  it('turns a refusal into a notice with the reason and what to do', async () => {
    const { settings } = server({
      ...BASE_ROUTES,
      'DELETE installed/t': () =>
        json(
          {
            error: {
              code: 'install',
              message: 'cannot uninstall tool@1.0/t: needed by app@2/a',
              hint: 'uninstall those first'
            }
          },
          409
        )
    });
    const model = new SpackModel({ settings });
    expect(await model.uninstall(record('tool', 't', true))).toBe(false);
    expect(model.state.notice).toEqual({
      kind: 'error',
      message: 'cannot uninstall tool@1.0/t: needed by app@2/a',
      hint: 'uninstall those first',
      // the troubleshooting section the notice links to
      code: 'install'
    });
    model.dispose();
  });

  it('builds the exact spec of the chosen build', async () => {
    const { settings } = server({
      ...BASE_ROUTES,
      'GET specs/xtcna5s': () =>
        json({
          mirror: 'demo',
          root: {},
          nodes: [],
          compatible: true,
          reason: null
        })
    });
    const model = new SpackModel({ settings });
    await model.select({
      name: 'demo-tool',
      versions: ['1.0.0'],
      targets: ['x86_64'],
      mirrors: ['demo'],
      builds: [
        {
          hash: 'xtcna5s',
          version: '1.0.0',
          target: 'x86_64',
          os: 'debian12',
          platform: 'linux',
          variants: {},
          mirror: 'demo',
          size: null
        }
      ]
    });
    expect(model.chosenSpec()).toBe('demo-tool@1.0.0/xtcna5s');
    expect(model.state.detail.value?.compatible).toBe(true);
    model.dispose();
  });
});

describe('SpackModel, second pass', () => {
  const FP = 'A'.repeat(40);
  const KEY = {
    fingerprint: FP,
    uids: ['demo'],
    created: null,
    expires: null,
    algorithm: null,
    length: null
  };

  it('untrusts a key, then reloads the keys and the mirrors’ badges', async () => {
    let trusted = true;
    const { settings, requests } = server({
      ...BASE_ROUTES,
      'GET keys': () => json(trusted ? [KEY] : []),
      [`DELETE keys/${FP}`]: () => {
        trusted = false;
        return json({ ...KEY, trusted: false });
      }
    });
    const model = new SpackModel({ settings });
    await model.loadKeys();
    expect(model.state.keys.value).toHaveLength(1);
    await model.untrustKey(FP);
    expect(model.state.notice?.message).toBe(`No longer trusting key ${FP}`);
    expect(model.state.keys.value).toEqual([]);
    expect(
      requests.some(r => new URL(r.url).pathname.endsWith('/mirrors'))
    ).toBe(true);
    model.dispose();
  });

  it('pre-selects the resolver’s build when a package is opened', async () => {
    const { settings, requests } = server({
      ...BASE_ROUTES,
      'GET specs/best': () =>
        json({ error: { code: 'x', message: 'n/a' } }, 500)
    });
    const model = new SpackModel({ settings });
    const build = (hash: string) => ({
      hash,
      version: '1',
      target: 'x86_64',
      os: 'd',
      platform: 'linux',
      variants: {},
      mirror: 'demo',
      size: null
    });
    await model.select({
      name: 'greet',
      versions: ['1'],
      targets: [],
      mirrors: [],
      builds: [build('first'), build('best')],
      best: 'best'
    });
    expect(model.state.build).toBe('best');
    expect(
      requests.some(r => new URL(r.url).pathname.endsWith('/specs/best'))
    ).toBe(true);
    model.dispose();
  });

  it('reloads only what changed elsewhere', async () => {
    const { settings, requests } = server(BASE_ROUTES);
    const model = new SpackModel({ settings });
    await model.reload(['installed']);
    const paths = requests.map(r => new URL(r.url).pathname.split('/').pop());
    expect(paths.sort()).toEqual(['host', 'installed']);
    model.dispose();
  });

  it('tells JupyterLab when kernels changed elsewhere, loading nothing', async () => {
    const { settings, requests } = server(BASE_ROUTES);
    const model = new SpackModel({ settings });
    let told = 0;
    model.kernelsChanged.connect(() => told++);
    await model.reload(['kernels']);
    expect(told).toBe(1);
    expect(requests).toEqual([]);
    await model.reload(['installed']);
    expect(told).toBe(1);
    model.dispose();
  });
});
