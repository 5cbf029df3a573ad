import { describe, expect, it } from 'vitest';
import { openSseStream, SseParser } from './sse.js';

describe('SseParser', () => {
  it('parses events split across chunks, multi-line data, comments and CRLF', () => {
    const p = new SseParser();
    expect(p.push(': keep-alive\n\ndata: {"a"')).toEqual([]);
    expect(p.push(':1}\n\nevent: x\r\ndata: one\r\ndata: two\r')).toEqual([{ event: 'message', data: '{"a":1}' }]);
    expect(p.push('\n\r\n')).toEqual([{ event: 'x', data: 'one\ntwo' }]);
    expect(p.push('id: 7\ndata:"RESYNC"\n\n')).toEqual([{ event: 'message', data: '"RESYNC"', id: '7' }]);
  });
  it('ignores events without data and unknown fields', () => {
    const p = new SseParser();
    expect(p.push('event: ping\n\nretry: 100\nfoo\ndata\n\n')).toEqual([{ event: 'message', data: '' }]);
  });
});

describe('openSseStream', () => {
  it('reconnects after a failure and reports every open', async () => {
    let calls = 0;
    const fetchImpl = (async () => {
      calls++;
      if (calls === 1) throw new TypeError('Failed to fetch');
      const body = new ReadableStream<Uint8Array>({
        start(c) {
          c.enqueue(new TextEncoder().encode('data: {"documents":[],"checkpoint":{"seq":3}}\n\n'));
        },
      });
      return new Response(body, { status: 200, headers: { 'content-type': 'text/event-stream' } });
    }) as typeof fetch;
    const opens: number[] = [];
    const events: string[] = [];
    const errors: string[] = [];
    const s = openSseStream({
      url: () => 'http://x/stream',
      headers: {},
      fetchImpl,
      retryMs: 5,
      onOpen: () => opens.push(calls),
      onEvent: (e) => events.push(e.data),
      onError: (e) => errors.push(String(e)),
    });
    await expect.poll(() => events.length).toBe(1);
    s.close();
    expect(errors[0]).toContain('Failed to fetch');
    expect(opens).toEqual([2]);
    expect(JSON.parse(events[0]!)).toEqual({ documents: [], checkpoint: { seq: 3 } });
  });
  it('reconnects at once, reporting no failure, when the server ends the stream for an expired token', async () => {
    let calls = 0;
    const fetchImpl = (async () => {
      const call = ++calls;
      const body = new ReadableStream<Uint8Array>({
        start(c) {
          c.enqueue(new TextEncoder().encode(`data: ${call}\n\n`));
          // the first stream lives a little over a second, then its token expires
          if (call === 1)
            setTimeout(() => (c.enqueue(new TextEncoder().encode('event: reauthenticate\ndata: "token expired"\n\n')), c.close()), 1_100);
        },
      });
      return new Response(body, { status: 200, headers: { 'content-type': 'text/event-stream' } });
    }) as typeof fetch;
    const events: string[] = [];
    const errors: unknown[] = [];
    let reauthenticated = 0;
    const s = openSseStream({
      url: () => 'http://x/stream',
      headers: {},
      fetchImpl,
      retryMs: 60_000, // a backoff would outlast the test
      onOpen: () => undefined,
      onEvent: (e) => events.push(`${e.event}:${e.data}`),
      onError: (e) => errors.push(e),
      onReauthenticate: () => reauthenticated++,
    });
    await expect.poll(() => events.length, { timeout: 5_000 }).toBe(2);
    s.close();
    expect(events).toEqual(['message:1', 'message:2']);
    expect(errors).toEqual([]);
    expect(reauthenticated).toBe(1);
  });
});
