/**
 * The endpoint functions against a recording fetch: the URL, verb and body
 * each sends, and how the server's answers (and errors) come back.
 */
import { ServerConnection } from '@jupyterlab/services';

import {
  TaskEvent,
  apiUrl,
  describeError,
  errorInfo,
  fetchPlan,
  searchSpecs,
  startInstall,
  uninstall
} from '../api';
import { streamTaskEvents, toTaskEvent } from '../events';
import { PLAN, QUEUED_TASK } from './fixtures';

const BASE = 'http://127.0.0.1:8888/';

function recording(reply: (req: Request) => Response): {
  settings: ServerConnection.ISettings;
  requests: Request[];
} {
  const requests: Request[] = [];
  const settings = ServerConnection.makeSettings({
    baseUrl: BASE,
    token: 't',
    fetch: (async (input: RequestInfo | URL) => {
      requests.push(input as Request);
      return reply(input as Request);
    }) as typeof fetch
  });
  return { settings, requests };
}

function path(req: Request): string {
  return new URL(req.url).pathname;
}

describe('apiUrl', () => {
  it('adds the query, leaving out empty values', () => {
    expect(
      apiUrl('/', 'specs', { q: 'zlib@1.3', page: 2, refresh: null })
    ).toBe('/spackcache/api/specs?q=zlib%401.3&page=2');
  });
});

describe('errorInfo', () => {
  it("reads the extension's error object with its hint", () => {
    const body = JSON.stringify({
      error: {
        code: 'policy',
        message: 'mirror not allowed',
        hint: 'ask your admin'
      }
    });
    expect(errorInfo(403, body)).toEqual({
      code: 'policy',
      message: 'mirror not allowed',
      hint: 'ask your admin'
    });
  });

  it('describes network failures with what to check', () => {
    const info = describeError(
      new ServerConnection.NetworkError(new TypeError('down'))
    );
    expect(info.code).toBe('network');
    expect(info.hint).toContain('Jupyter server');
  });
});

describe('endpoints', () => {
  it('searchSpecs sends the query and paging', async () => {
    const { settings, requests } = recording(
      () =>
        new Response(
          JSON.stringify({
            query: 'zlib',
            page: 2,
            per_page: 10,
            total: 0,
            has_more: false,
            pages: 1,
            items: []
          })
        )
    );
    const page = await searchSpecs(settings, ' zlib ', 2, 10);
    expect(page.page).toBe(2);
    const url = new URL(requests[0].url);
    expect(url.pathname).toBe('/spackcache/api/specs');
    expect(url.searchParams.get('q')).toBe('zlib');
    expect(url.searchParams.get('per_page')).toBe('10');
  });

  it('fetchPlan and startInstall POST the specs (and the kernel flag)', async () => {
    const { settings, requests } = recording(req =>
      path(req).endsWith('/plan')
        ? new Response(JSON.stringify(PLAN))
        : new Response(JSON.stringify(QUEUED_TASK), { status: 202 })
    );
    await expect(fetchPlan(settings, ['demo-tool'])).resolves.toEqual(PLAN);
    await expect(startInstall(settings, ['demo-tool'], true)).resolves.toEqual(
      QUEUED_TASK
    );
    expect(requests.map(r => r.method)).toEqual(['POST', 'POST']);
    expect(await requests[0].json()).toEqual({ specs: ['demo-tool'] });
    expect(await requests[1].json()).toEqual({
      specs: ['demo-tool'],
      kernel: true
    });
  });

  it('uninstall asks for dependents only when told to', async () => {
    const { settings, requests } = recording(
      () => new Response('{"removed": []}')
    );
    await uninstall(settings, 'abc');
    await uninstall(settings, 'abc', true);
    expect(requests.map(r => r.method)).toEqual(['DELETE', 'DELETE']);
    expect(new URL(requests[0].url).searchParams.get('dependents')).toBeNull();
    expect(new URL(requests[1].url).searchParams.get('dependents')).toBe(
      'true'
    );
  });

  it('rejects a body that lacks the fields the panel needs', async () => {
    const { settings } = recording(() => new Response('{"nodes": []}'));
    await expect(fetchPlan(settings, ['x'])).rejects.toThrow(
      'Invalid plan response: missing checks, ok, download_bytes.'
    );
  });
});

describe('task events', () => {
  it('parses task and progress events and skips unknown kinds', () => {
    expect(
      toTaskEvent({ id: '4', event: 'task', data: JSON.stringify(QUEUED_TASK) })
    ).toEqual({
      kind: 'task',
      id: 4,
      task: QUEUED_TASK
    });
    expect(toTaskEvent({ id: null, event: 'other', data: '{}' })).toBeNull();
    expect(
      toTaskEvent({ id: null, event: 'task', data: 'not json' })
    ).toBeNull();
  });

  it('streams the SSE body through the same authenticated fetch', async () => {
    const wire =
      `id: 1\nevent: task\ndata: ${JSON.stringify({ ...QUEUED_TASK, task: QUEUED_TASK.id })}\n\n` +
      ': keep-alive\n\n';
    const { settings, requests } = recording(
      () =>
        new Response(wire, {
          status: 200,
          headers: { 'Content-Type': 'text/event-stream' }
        })
    );
    const events: TaskEvent[] = [];
    await streamTaskEvents(settings, QUEUED_TASK.id, e => events.push(e), {
      lastEventId: 7
    });
    expect(events).toHaveLength(1);
    expect(events[0].kind).toBe('task');
    const url = new URL(requests[0].url);
    expect(url.pathname).toBe('/spackcache/api/events');
    expect(url.searchParams.get('task')).toBe(QUEUED_TASK.id);
    expect(requests[0].headers.get('Last-Event-ID')).toBe('7');
    expect(requests[0].headers.get('Authorization')).toBe('token t');
  });

  it('turns an HTTP error of the stream into the server message', async () => {
    const { settings } = recording(
      () =>
        new Response(
          '{"error": {"code": "not-found", "message": "no task \'x\'", "hint": null}}',
          {
            status: 404
          }
        )
    );
    await expect(
      streamTaskEvents(settings, 'x', () => undefined)
    ).rejects.toThrow("no task 'x'");
  });
});
