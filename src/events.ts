/**
 * The server's event streams (`GET /events`, Server-Sent Events read through
 * fetch so the request carries the same auth as every other call): a task's
 * progress, and the changes made elsewhere that the panel follows.
 *
 * Raw SSE framing is `sse.ts`; turning raw events into typed ones is here, as
 * pure functions beside the two readers.
 */
import { ServerConnection } from '@jupyterlab/services';

import {
  SpackApiError,
  TASK_KEYS,
  apiUrl,
  errorInfo,
  expectObject,
  send
} from './api';
import { IRawEvent, SSEParser } from './sse';
import { IProgressEvent, ITask, TaskEvent } from './types';

/** A task-stream event from a raw SSE event, or null for kinds we do not know. */
export function toTaskEvent(raw: IRawEvent): TaskEvent | null {
  const id = raw.id !== null && /^\d+$/.test(raw.id) ? Number(raw.id) : null;
  let data: unknown;
  try {
    data = JSON.parse(raw.data);
  } catch {
    return null;
  }
  if (raw.event === 'task') {
    return {
      kind: 'task',
      id,
      task: expectObject<ITask>(data, TASK_KEYS, 'task')
    };
  }
  if (raw.event === 'progress') {
    const progress = expectObject<IProgressEvent>(
      data,
      ['hash', 'stage', 'bytes_done'],
      'progress'
    );
    return { kind: 'progress', id, progress };
  }
  return null;
}

/**
 * `GET /events?task=ID`: stream the task's events (Server-Sent Events read
 * through fetch, so the request carries the same auth as every other call).
 * Resolves when the server ends the stream (the task finished); rejects on a
 * network or HTTP error, and with an AbortError when `signal` aborts.
 */
export async function streamTaskEvents(
  settings: ServerConnection.ISettings,
  taskId: string,
  onEvent: (event: TaskEvent) => void,
  options: { signal?: AbortSignal; lastEventId?: number | null } = {}
): Promise<void> {
  const headers: Record<string, string> = { Accept: 'text/event-stream' };
  if (options.lastEventId !== null && options.lastEventId !== undefined) {
    headers['Last-Event-ID'] = String(options.lastEventId);
  }
  await readStream(settings, { task: taskId }, headers, options.signal, raw => {
    const event = toTaskEvent(raw);
    if (event !== null) {
      onEvent(event);
    }
  });
}

/** What changed behind the panel's back (a `changed` event's `what`). */
export type ChangedPart = 'installed' | 'mirrors' | 'keys' | 'kernels';

/** The parts a raw `changed` event names, or null for any other event. */
export function toChanged(raw: IRawEvent): ChangedPart[] | null {
  if (raw.event !== 'changed') {
    return null;
  }
  try {
    const data = JSON.parse(raw.data) as { what?: unknown };
    return Array.isArray(data.what)
      ? (data.what.filter(w =>
          ['installed', 'mirrors', 'keys', 'kernels'].includes(w as string)
        ) as ChangedPart[])
      : null;
  } catch {
    return null;
  }
}

/**
 * `GET /events?kind=changed`: follow changes made elsewhere (CLI, magics,
 * other tabs) until `signal` aborts or the server closes the stream.
 */
export async function streamChanges(
  settings: ServerConnection.ISettings,
  onChange: (parts: ChangedPart[]) => void,
  options: { signal?: AbortSignal } = {}
): Promise<void> {
  await readStream(
    settings,
    { kind: 'changed' },
    { Accept: 'text/event-stream' },
    options.signal,
    raw => {
      const parts = toChanged(raw);
      if (parts !== null && parts.length > 0) {
        onChange(parts);
      }
    }
  );
}

/**
 * `GET /events` with `query`: hand each raw event to `onRaw` until the server
 * ends the stream. Rejects on an HTTP error (with the server's one-line reason)
 * or when `signal` aborts.
 */
async function readStream(
  settings: ServerConnection.ISettings,
  query: Record<string, string>,
  headers: Record<string, string>,
  signal: AbortSignal | undefined,
  onRaw: (raw: IRawEvent) => void
): Promise<void> {
  const response = await send(
    apiUrl(settings.baseUrl, 'events', query),
    settings,
    { headers, signal }
  );
  if (!response.ok) {
    const text = await response.text();
    throw new SpackApiError(response.status, errorInfo(response.status, text));
  }
  if (response.body === null) {
    throw new Error('The event stream has no body in this browser.');
  }
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  const parser = new SSEParser();
  for (;;) {
    const { done, value } = await reader.read();
    const chunk = done
      ? decoder.decode()
      : decoder.decode(value, { stream: true });
    for (const raw of parser.feed(chunk)) {
      onRaw(raw);
    }
    if (done) {
      return;
    }
  }
}
