/**
 * Server-Sent Events over `fetch` + ReadableStream (EventSource cannot send the bearer token): the sync stream's
 * client, used by the renderer's replica and by the Node test client that replicates the same way
 * (test/support/sync-client.ts). Only WHATWG fetch and streams, which browsers and Node both have.
 * `SseParser` is the pure, incremental part (tested); `openSseStream` reconnects with backoff and tells the
 * caller about every (re)connect so the replication can emit RESYNC.
 */
import { backoffDelay, PLUS_MINUS_20_PERCENT } from './backoff.js';

export interface SseEvent {
  event: string;
  data: string;
  id?: string;
}

/** Incremental text/event-stream parser (WHATWG rules: `field: value` lines, blank line dispatches, `:` comments). */
export class SseParser {
  private buffer = '';
  private data: string[] = [];
  private event = '';
  private id: string | undefined;

  /** Feed a decoded chunk; returns the events it completed. */
  push(chunk: string): SseEvent[] {
    this.buffer += chunk;
    const out: SseEvent[] = [];
    for (;;) {
      const m = /\r\n|\r|\n/.exec(this.buffer);
      if (!m) break;
      // A lone '\r' at the very end may be the first half of '\r\n': wait for more.
      if (m[0] === '\r' && m.index === this.buffer.length - 1) break;
      const line = this.buffer.slice(0, m.index);
      this.buffer = this.buffer.slice(m.index + m[0].length);
      this.line(line, out);
    }
    return out;
  }

  private line(line: string, out: SseEvent[]): void {
    if (line === '') {
      if (this.data.length)
        out.push({ event: this.event || 'message', data: this.data.join('\n'), ...(this.id !== undefined ? { id: this.id } : {}) });
      this.data = [];
      this.event = '';
      return;
    }
    if (line.startsWith(':')) return;
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'data') this.data.push(value);
    else if (field === 'event') this.event = value;
    else if (field === 'id' && !value.includes('\0')) this.id = value;
  }
}

export interface SseStreamOptions {
  /** URL to (re)connect to; called on each attempt so it can carry the latest checkpoints */
  url: () => string;
  /** asked on each attempt (a fresh access token) */
  headers: Record<string, string> | (() => Promise<Record<string, string>>);
  /** the server ended the stream because its token expired (reconnecting at once): drop the cached token */
  onReauthenticate?: () => void;
  /** the server answered 401 (the token was refused): called before the retry */
  onUnauthorized?: () => void;
  onOpen: () => void;
  onEvent: (e: SseEvent) => void;
  onError: (err: unknown) => void;
  /** first retry delay; doubles up to `maxRetryMs` */
  retryMs?: number;
  maxRetryMs?: number;
  fetchImpl?: typeof fetch;
}

/** The server's last event on a stream whose access token expired (the stream ends after it). */
export const REAUTHENTICATE_EVENT = 'reauthenticate';

/** Keeps one SSE connection open until `close()`; reconnects with backoff (or at once on `retryNow()`). */
export function openSseStream(opts: SseStreamOptions): { close(): void; retryNow(): void } {
  const retryMs = opts.retryMs ?? 1000;
  const maxRetryMs = opts.maxRetryMs ?? 30_000;
  const doFetch = opts.fetchImpl ?? fetch.bind(globalThis);
  let closed = false;
  let controller: AbortController | undefined;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let attempt = 0;

  const connect = async () => {
    controller = new AbortController();
    try {
      const headers = typeof opts.headers === 'function' ? await opts.headers() : opts.headers;
      if (closed) return;
      // `cache` keeps a browser from answering from its HTTP cache; Node's fetch has none (nor the option in its types)
      const init = { headers: { accept: 'text/event-stream', ...headers }, signal: controller.signal, cache: 'no-store' as const };
      const res = await doFetch(opts.url(), init);
      if (res.status === 401) opts.onUnauthorized?.();
      if (!res.ok || !res.body) {
        await res.body?.cancel().catch(() => undefined);
        throw new Error(`stream: HTTP ${res.status}`);
      }
      attempt = 0;
      const openedAt = Date.now();
      opts.onOpen();
      const parser = new SseParser();
      const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
      // the server ends a stream when the token that opened it expires, announcing it: reconnect at once with a
      // fresh token, without reporting a failure
      let reauthenticate = false;
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        for (const e of parser.push(value)) {
          if (e.event === REAUTHENTICATE_EVENT) reauthenticate = true;
          else opts.onEvent(e);
        }
      }
      if (closed) return;
      if (reauthenticate) opts.onReauthenticate?.();
      // (a stream that expired at once — a clock far off, a stale token handed out again — backs off instead)
      if (reauthenticate && Date.now() - openedAt > 1_000) {
        void connect();
        return;
      }
      throw new Error('stream: closed by the server');
    } catch (err) {
      if (closed) return;
      opts.onError(err);
      timer = setTimeout(
        () => {
          timer = undefined;
          void connect();
        },
        backoffDelay(++attempt, { initialMs: retryMs, maxMs: maxRetryMs, maxExponent: 20, jitter: PLUS_MINUS_20_PERCENT }),
      );
    }
  };
  void connect();
  return {
    retryNow() {
      if (closed || timer === undefined) return;
      clearTimeout(timer);
      timer = undefined;
      attempt = 0;
      void connect();
    },
    close() {
      closed = true;
      clearTimeout(timer);
      controller?.abort();
    },
  };
}
