/**
 * Test support: Server-Sent Events over `fetch` + a stream reader, the same shape as the renderer's
 * src/renderer/src/data/sse.ts (EventSource cannot send the bearer token), written for Node's types: opens,
 * reports each (re)connect so the replication can emit RESYNC, parses `event:`/`data:` events, reconnects with
 * backoff until closed.
 */
export interface SseOptions {
  url: () => string;
  /** asked on every (re)connect (a fresh token) */
  headers: () => Promise<Record<string, string>>;
  onOpen: () => void;
  /** `event`: the event's name (`message` when the stream names none) */
  onData: (data: string, event: string) => void;
  retryMs?: number;
  maxRetryMs?: number;
}

export function openSse(opts: SseOptions): { close(): void } {
  const retryMs = opts.retryMs ?? 100;
  const maxRetryMs = opts.maxRetryMs ?? 1000;
  let closed = false;
  let controller: AbortController | undefined;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let attempt = 0;

  const connect = async (): Promise<void> => {
    controller = new AbortController();
    try {
      const headers = await opts.headers();
      if (closed) return;
      const res = await fetch(opts.url(), { headers: { accept: 'text/event-stream', ...headers }, signal: controller.signal });
      if (!res.ok || !res.body) throw new Error(`stream: HTTP ${res.status}`);
      attempt = 0;
      opts.onOpen();
      const decoder = new TextDecoder();
      let buffer = '';
      let data: string[] = [];
      let event = '';
      for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
        buffer += decoder.decode(chunk, { stream: true });
        let nl: number;
        while ((nl = buffer.search(/\r\n|\n|\r/)) >= 0) {
          const sepLen = buffer.startsWith('\r\n', nl) ? 2 : 1;
          const line = buffer.slice(0, nl);
          buffer = buffer.slice(nl + sepLen);
          if (line === '') {
            if (data.length) opts.onData(data.join('\n'), event || 'message');
            data = [];
            event = '';
          } else if (line.startsWith('data:')) {
            data.push(line.slice(5).replace(/^ /, ''));
          } else if (line.startsWith('event:')) {
            event = line.slice(6).replace(/^ /, '');
          }
        }
      }
      if (!closed) throw new Error('stream: closed by the server');
    } catch {
      if (closed) return;
      const delay = Math.min(maxRetryMs, retryMs * 2 ** Math.min(attempt++, 10));
      timer = setTimeout(() => void connect(), delay);
    }
  };
  void connect();
  return {
    close() {
      closed = true;
      clearTimeout(timer);
      controller?.abort();
    },
  };
}
