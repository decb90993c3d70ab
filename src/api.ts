/**
 * Typed client for the jupyter-spackcache server extension's REST API.
 *
 * URL building and response parsing are pure functions so that they can be
 * tested without a server; only `requestAPI` talks to the network.
 */
import { URLExt } from '@jupyterlab/coreutils';
import { ServerConnection } from '@jupyterlab/services';

/** Path of the API below the server's base URL (matches the Python routes). */
export const API_NAMESPACE = 'spackcache/api';

/** Body of `GET /spackcache/api/status`. */
export interface IStatus {
  /** Version of the Python package serving the API. */
  version: string;
  /** Whether the server extension is healthy. */
  ok: boolean;
}

/**
 * Full URL of an API endpoint, e.g. `apiUrl('/user/x/', 'status')` is
 * `/user/x/spackcache/api/status`.
 */
export function apiUrl(baseUrl: string, endpoint: string): string {
  return URLExt.join(baseUrl, API_NAMESPACE, endpoint);
}

/**
 * Check the shape of a status body; throws a one-line error otherwise, so a
 * server/frontend version mismatch is reported instead of rendered as garbage.
 */
export function parseStatus(body: unknown): IStatus {
  if (typeof body !== 'object' || body === null) {
    throw new Error('Invalid status response: expected a JSON object.');
  }
  const { version, ok } = body as Record<string, unknown>;
  if (typeof version !== 'string' || typeof ok !== 'boolean') {
    throw new Error(
      'Invalid status response: expected string "version" and boolean "ok".'
    );
  }
  return { version, ok };
}

/**
 * The message to show for a failed request: the server's JSON `message`
 * (Jupyter's APIHandler error format), else the raw text, else the status.
 */
export function errorMessage(status: number, text: string): string {
  try {
    const body = JSON.parse(text) as unknown;
    if (typeof body === 'object' && body !== null) {
      const message = (body as Record<string, unknown>).message;
      if (typeof message === 'string' && message.length > 0) {
        return message;
      }
    }
  } catch {
    // not JSON: fall through to the raw text
  }
  return text.trim().length > 0 ? text.trim() : `HTTP ${status}`;
}

/** Call an API endpoint and return its parsed JSON body. */
export async function requestAPI(
  endpoint: string,
  settings: ServerConnection.ISettings,
  init: RequestInit = {}
): Promise<unknown> {
  const url = apiUrl(settings.baseUrl, endpoint);
  let response: Response;
  try {
    response = await ServerConnection.makeRequest(url, init, settings);
  } catch (error) {
    throw new ServerConnection.NetworkError(error as TypeError);
  }
  const text = await response.text();
  if (!response.ok) {
    throw new ServerConnection.ResponseError(
      response,
      errorMessage(response.status, text)
    );
  }
  return text.length > 0 ? (JSON.parse(text) as unknown) : null;
}

/** `GET /spackcache/api/status`, checked. */
export async function fetchStatus(
  settings: ServerConnection.ISettings
): Promise<IStatus> {
  return parseStatus(await requestAPI('status', settings));
}
