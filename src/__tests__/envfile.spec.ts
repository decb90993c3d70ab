/**
 * "Install from spack.lock / spack.yaml": which files the action offers
 * itself for, the selection it reads, and the panel model against a
 * scripted server (the task starts and is followed; a refusal is a notice).
 */
import { ServerConnection } from '@jupyterlab/services';
import { nullTranslator } from '@jupyterlab/translation';
import { Signal } from '@lumino/signaling';

import { IFileTask, ITask, startInstallFromFile } from '../api';
import {
  fileTaskNotice,
  isEnvironmentFile,
  selectedEnvironmentFile
} from '../model/envfile';
import { IInstallProgress } from '../model/progress';
import { SpackModel } from '../model/spack';
import { QUEUED_TASK } from './fixtures';

const trans = nullTranslator.load('jupyter_spackcache');
const ROOT = 'xtcna5sqmspfwhsqofejvizyfrighmlk';
const FILE_TASK: IFileTask = {
  ...QUEUED_TASK,
  specs: [`/${ROOT}`],
  file: { path: 'envs/spack.lock', kind: 'spack.lock', exact: true, notes: [] }
};
const DONE: ITask = { ...FILE_TASK, state: 'done' };

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
        : new Response('{"error": {"code": "not-found", "message": "no"}}', {
            status: 404
          });
    }) as typeof fetch
  });
  return { settings, requests };
}

const json = (body: unknown, status = 200): Response =>
  new Response(JSON.stringify(body), { status });

function sse(task: ITask): Response {
  const data = JSON.stringify({ ...task, task: task.id });
  return new Response(`id: 1\nevent: task\ndata: ${data}\n\n`, {
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

/** A stand-in for JupyterLab's file browser: only `selectedItems()`. */
function browser(...names: [string, string][]): unknown {
  return {
    selectedItems: () =>
      names.map(([path, type]) => ({
        name: path.split('/').pop() ?? path,
        path,
        type
      }))
  };
}

afterEach(() => Signal.clearData(SpackModel));

describe('isEnvironmentFile', () => {
  it.each([
    ['spack.lock', true],
    ['spack.yaml', true],
    ['Spack.YML', true],
    ['team-2024.lock', true],
    ['analysis.spack-lock.json', true],
    ['spack.json', false],
    ['environment.yaml', false],
    ['notes.txt', false]
  ])('%s -> %s', (name, expected) => {
    expect(isEnvironmentFile(name)).toBe(expected);
  });
});

describe('selectedEnvironmentFile', () => {
  it('is the one selected environment file of the first file browser', () => {
    const panel = { id: 'spack' }; // other sidebar widgets are skipped
    expect(
      selectedEnvironmentFile([panel, browser(['envs/spack.lock', 'file'])])
    ).toBe('envs/spack.lock');
    expect(selectedEnvironmentFile([browser(['a/spack.yaml', 'file'])])).toBe(
      'a/spack.yaml'
    );
  });

  it('is null for other files, directories, several files or no browser', () => {
    expect(selectedEnvironmentFile([browser(['a.ipynb', 'notebook'])])).toBe(
      null
    );
    expect(selectedEnvironmentFile([browser(['x.lock', 'directory'])])).toBe(
      null
    );
    expect(
      selectedEnvironmentFile([
        browser(['spack.lock', 'file'], ['b/spack.lock', 'file'])
      ])
    ).toBe(null);
    expect(selectedEnvironmentFile([{ id: 'panel' }])).toBe(null);
  });
});

describe('fileTaskNotice', () => {
  it('says how the file is installed and repeats the server notes', () => {
    expect(fileTaskNotice(FILE_TASK.file, trans)).toBe(
      'Installing the spack.lock envs/spack.lock (exactly, by hash).'
    );
    const yaml = {
      path: 'spack.yaml',
      kind: 'spack.yaml' as const,
      exact: false,
      notes: ["spack.yaml: ignored section 'view' (line 3)"]
    };
    expect(fileTaskNotice(yaml, trans)).toBe(
      'Installing the spack.yaml spack.yaml (its specs resolved against your ' +
        "mirrors). Note: spack.yaml: ignored section 'view' (line 3)"
    );
  });
});

describe('installing from a file', () => {
  it('posts the path and the kernel flag, then follows the task', async () => {
    const { settings, requests } = server({
      'POST installs/from-file': () => json(FILE_TASK, 202),
      'GET events': () => sse(DONE),
      [`GET tasks/${FILE_TASK.id}`]: () => json(DONE),
      'GET installed': () => json([]),
      'GET host': () => json({})
    });
    const model = new SpackModel({ settings, trans });
    model.setKernel(true);
    const end = finished(model);
    await model.installFromFile('envs/spack.lock');
    const post = requests.find(r => r.url.includes('/installs/from-file'));
    expect(await post?.json()).toEqual({
      path: 'envs/spack.lock',
      kernel: true
    });
    expect(model.state.notice).toEqual({
      kind: 'info',
      message: 'Installing the spack.lock envs/spack.lock (exactly, by hash).',
      hint: null
    });
    expect(model.state.install?.taskId).toBe(FILE_TASK.id);
    expect((await end).state).toBe('done');
    model.dispose();
  });

  it('shows the refusal (a locked build in no mirror) and starts nothing', async () => {
    const refusal = {
      error: {
        code: 'locked-build-missing',
        message:
          '1 locked build(s) of other.lock in no configured mirror: demo-tool@1.0.0/qqqq',
        hint: 'add the mirror the environment was built into'
      }
    };
    const { settings } = server({
      'POST installs/from-file': () => json(refusal, 404)
    });
    const model = new SpackModel({ settings, trans });
    await model.installFromFile('other.lock');
    expect(model.state.notice).toEqual({
      kind: 'error',
      message: refusal.error.message,
      hint: refusal.error.hint,
      code: refusal.error.code
    });
    expect(model.state.install).toBeNull();
    model.dispose();
  });

  it('refuses a server answer without the file details', async () => {
    const { settings } = server({
      'POST installs/from-file': () => json(QUEUED_TASK, 202)
    });
    await expect(startInstallFromFile(settings, 'spack.lock')).rejects.toThrow(
      'Invalid task response: missing file.'
    );
  });
});
