/**
 * Unit tests for the REST client: URL building, response parsing, and one
 * round trip through ServerConnection with a recording fetch.
 */
import { ServerConnection } from '@jupyterlab/services';

import {
  apiUrl,
  errorMessage,
  fetchStatus,
  parseStatus,
  requestAPI,
  SpackApiError
} from '../api';

const BASE = 'http://127.0.0.1:8888/user/alice/';

/** Server settings whose fetch records its requests and answers `reply`. */
function recordingSettings(reply: () => Response): {
  settings: ServerConnection.ISettings;
  requests: Request[];
} {
  const requests: Request[] = [];
  const fakeFetch = async (input: RequestInfo | URL): Promise<Response> => {
    requests.push(input as Request);
    return reply();
  };
  const settings = ServerConnection.makeSettings({
    baseUrl: BASE,
    token: 'secret-token',
    fetch: fakeFetch as typeof fetch
  });
  return { settings, requests };
}

describe('apiUrl', () => {
  it('puts the endpoint under the base URL and the API namespace', () => {
    expect(apiUrl(BASE, 'status')).toBe(`${BASE}spackcache/api/status`);
  });

  it('does not double slashes with or without a trailing slash', () => {
    expect(apiUrl('/', 'status')).toBe('/spackcache/api/status');
    expect(apiUrl('/lab/base', 'tasks/7')).toBe(
      '/lab/base/spackcache/api/tasks/7'
    );
  });
});

describe('parseStatus', () => {
  it('accepts the server body and drops unknown fields', () => {
    expect(parseStatus({ version: '0.1.0', ok: true, extra: 1 })).toEqual({
      version: '0.1.0',
      ok: true
    });
  });

  it.each([
    [null, 'expected a JSON object'],
    ['0.1.0', 'expected a JSON object'],
    [{ version: 1, ok: true }, 'string "version"'],
    [{ version: '0.1.0' }, 'boolean "ok"'],
    [{ version: '0.1.0', ok: 'yes' }, 'boolean "ok"']
  ])('rejects %p', (body, message) => {
    expect(() => parseStatus(body)).toThrow(message);
  });
});

describe('errorMessage', () => {
  it('prefers the JSON message of a Jupyter error body', () => {
    expect(
      errorMessage(404, '{"message": "no such task", "reason": null}')
    ).toBe('no such task');
  });

  it('falls back to the raw text, then to the status', () => {
    expect(errorMessage(502, ' Bad gateway\n')).toBe('Bad gateway');
    expect(errorMessage(500, '')).toBe('HTTP 500');
  });
});

describe('fetchStatus', () => {
  it('sends an authenticated GET to the status URL and parses the body', async () => {
    const { settings, requests } = recordingSettings(
      () => new Response('{"version": "0.1.0", "ok": true}', { status: 200 })
    );
    await expect(fetchStatus(settings)).resolves.toEqual({
      version: '0.1.0',
      ok: true
    });
    expect(requests).toHaveLength(1);
    const url = new URL(requests[0].url);
    // the query is ServerConnection's cache buster (settings.init.cache is 'no-store')
    expect(`${url.origin}${url.pathname}`).toBe(`${BASE}spackcache/api/status`);
    expect(requests[0].method).toBe('GET');
    expect(requests[0].headers.get('Authorization')).toBe('token secret-token');
  });

  it('rejects with the server message on an HTTP error', async () => {
    const { settings } = recordingSettings(
      () => new Response('{"message": "Forbidden"}', { status: 403 })
    );
    await expect(fetchStatus(settings)).rejects.toThrow('Forbidden');
    await expect(requestAPI('status', settings)).rejects.toBeInstanceOf(
      SpackApiError
    );
  });

  it('rejects a body of the wrong shape', async () => {
    const { settings } = recordingSettings(
      () => new Response('{"version": "0.1.0"}', { status: 200 })
    );
    await expect(fetchStatus(settings)).rejects.toThrow(
      'Invalid status response'
    );
  });

  it('wraps a failed connection in a NetworkError', async () => {
    const settings = ServerConnection.makeSettings({
      baseUrl: BASE,
      fetch: (async () => {
        throw new TypeError('connection refused');
      }) as typeof fetch
    });
    await expect(fetchStatus(settings)).rejects.toBeInstanceOf(
      ServerConnection.NetworkError
    );
  });
});
