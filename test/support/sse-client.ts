/**
 * Test support: Server-Sent Events over `fetch` + a stream reader, the same shape as the renderer's
 * src/renderer/src/data/sse.ts (EventSource cannot send the operator headers), written for Node's types: opens,
 * reports each (re)connect so the replication can emit RESYNC, parses `data:` events, reconnects with backoff
 * until closed.
 */
export interface SseOptions {
  url: () => string;
  headers: Record<string, string>;
  onOpen: () => void;
  onData: (data: string) => void;
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
      const res = await fetch(opts.url(), { headers: { accept: 'text/event-stream', ...opts.headers }, signal: controller.signal });
      if (!res.ok || !res.body) throw new Error(`stream: HTTP ${res.status}`);
      attempt = 0;
      opts.onOpen();
      const decoder = new TextDecoder();
      let buffer = '';
      let data: string[] = [];
      for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
        buffer += decoder.decode(chunk, { stream: true });
        let nl: number;
        while ((nl = buffer.search(/\r\n|\n|\r/)) >= 0) {
          const sepLen = buffer.startsWith('\r\n', nl) ? 2 : 1;
          const line = buffer.slice(0, nl);
          buffer = buffer.slice(nl + sepLen);
          if (line === '') {
            if (data.length) opts.onData(data.join('\n'));
            data = [];
          } else if (line.startsWith('data:')) {
            data.push(line.slice(5).replace(/^ /, ''));
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
