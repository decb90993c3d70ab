/**
 * An incremental parser for the Server-Sent Events wire format.
 *
 * The task stream is read with `fetch` (not `EventSource`) so that it carries
 * the same token header and XSRF handling as every other API call; this turns
 * the bytes that arrive, in arbitrary chunks, back into whole events.
 */

/** One dispatched event: its `id:` (null if none was sent), `event:` and `data:`. */
export interface IRawEvent {
  id: string | null;
  event: string;
  data: string;
}

export class SSEParser {
  /**
   * Add the next chunk of the stream; returns the events it completes.
   * Lines may be split across chunks; `\r\n`, `\r` and `\n` all end a line.
   */
  feed(chunk: string): IRawEvent[] {
    const text = this._buffer + chunk;
    // a trailing "\r" may be the first half of "\r\n": keep it for the next chunk
    const cut = text.endsWith('\r') ? text.length - 1 : text.length;
    const lines = text.slice(0, cut).split(/\r\n|\r|\n/);
    // the last piece has no line ending yet (or is "" after a complete line)
    this._buffer = (lines.pop() ?? '') + text.slice(cut);
    const events: IRawEvent[] = [];
    for (const line of lines) {
      const event = this._line(line);
      if (event !== null) {
        events.push(event);
      }
    }
    return events;
  }

  private _line(line: string): IRawEvent | null {
    if (line === '') {
      return this._dispatch();
    }
    if (line.startsWith(':')) {
      return null; // a comment (keep-alive)
    }
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) {
      value = value.slice(1);
    }
    switch (field) {
      case 'data':
        this._data.push(value);
        break;
      case 'event':
        this._event = value;
        break;
      case 'id':
        if (!value.includes('\0')) {
          this._id = value;
        }
        break;
      default:
        break; // "retry" and unknown fields do not matter here
    }
    return null;
  }

  private _dispatch(): IRawEvent | null {
    const data = this._data;
    const event = this._event;
    this._data = [];
    this._event = '';
    if (data.length === 0) {
      return null;
    }
    return { id: this._id, event: event || 'message', data: data.join('\n') };
  }

  private _buffer = '';
  private _data: string[] = [];
  private _event = '';
  private _id: string | null = null;
}
