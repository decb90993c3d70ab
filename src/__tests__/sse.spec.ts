import { SSEParser } from '../sse';

describe('SSEParser', () => {
  it('turns the server stream into events, whatever the chunking', () => {
    const wire =
      ': keep-alive\n\n' +
      'id: 1\nevent: task\ndata: {"state":"queued"}\n\n' +
      'id: 2\nevent: progress\ndata: {"a":1}\n\n';
    const whole = new SSEParser().feed(wire);
    expect(whole).toEqual([
      { id: '1', event: 'task', data: '{"state":"queued"}' },
      { id: '2', event: 'progress', data: '{"a":1}' }
    ]);
    // one character at a time gives the same events
    const parser = new SSEParser();
    const pieces = [];
    for (const c of wire.split('')) {
      pieces.push(...parser.feed(c));
    }
    expect(pieces).toEqual(whole);
  });

  it('joins multi-line data, defaults the type, and waits for the blank line', () => {
    const parser = new SSEParser();
    expect(parser.feed('data: one\ndata: two\n')).toEqual([]);
    expect(parser.feed('\n')).toEqual([
      { id: null, event: 'message', data: 'one\ntwo' }
    ]);
  });

  it('accepts CRLF even when split between chunks', () => {
    const parser = new SSEParser();
    expect(parser.feed('event: task\r\ndata: x\r')).toEqual([]);
    expect(parser.feed('\n\r\n')).toEqual([
      { id: null, event: 'task', data: 'x' }
    ]);
  });

  it('keeps the last id for later events and ignores dataless blocks', () => {
    const parser = new SSEParser();
    expect(parser.feed('id: 7\n\ndata: a\n\n')).toEqual([
      { id: '7', event: 'message', data: 'a' }
    ]);
  });
});
