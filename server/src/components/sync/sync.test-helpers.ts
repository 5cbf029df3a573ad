/** A minimal SSE client for tests: parses `event:`/`data:` events, ignores comments; close() aborts the request. */
export interface SseStream {
  contentType: string | null;
  /** the next `data:` message (JSON), or a timeout error */
  next<T>(timeoutMs?: number): Promise<T>;
  /** the next event with its name (`message` when unnamed) */
  nextEvent<T>(timeoutMs?: number): Promise<{ event: string; data: T }>;
  close(): void;
  /** resolves true when the server ended the response */
  ended: Promise<boolean>;
}

/** `headers`: a signed-in staff member's (testing/auth.ts staffHeaders). */
export async function openStream(url: string, headers: Record<string, string>): Promise<SseStream> {
  const abort = new AbortController();
  const res = await fetch(url, { headers: { accept: 'text/event-stream', ...headers }, signal: abort.signal });
  if (!res.ok || !res.body) throw new Error(`stream answered ${res.status}: ${await res.text()}`);
  const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
  const queue: unknown[] = [];
  const waiters: Array<(v: unknown) => void> = [];
  let buffer = '';
  const ended = (async () => {
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return true;
        buffer += value;
        let cut: number;
        while ((cut = buffer.indexOf('\n\n')) >= 0) {
          const event = buffer.slice(0, cut);
          buffer = buffer.slice(cut + 2);
          const lines = event.split('\n');
          const data = lines
            .filter((l) => l.startsWith('data:'))
            .map((l) => l.slice(5).trimStart())
            .join('\n');
          if (data === '') continue;
          const name =
            lines
              .find((l) => l.startsWith('event:'))
              ?.slice(6)
              .trim() || 'message';
          const parsed = { event: name, data: JSON.parse(data) as unknown };
          const waiter = waiters.shift();
          if (waiter) waiter(parsed);
          else queue.push(parsed);
        }
      }
    } catch {
      return false; // aborted by close()
    }
  })();
  const nextEvent = <T>(timeoutMs = 10_000): Promise<{ event: string; data: T }> => {
    if (queue.length > 0) return Promise.resolve(queue.shift() as { event: string; data: T });
    return new Promise<{ event: string; data: T }>((resolve, reject) => {
      const timer = setTimeout(() => {
        const i = waiters.indexOf(done);
        if (i >= 0) waiters.splice(i, 1);
        reject(new Error(`no SSE message within ${timeoutMs} ms`));
      }, timeoutMs);
      const done = (v: unknown) => {
        clearTimeout(timer);
        resolve(v as { event: string; data: T });
      };
      waiters.push(done);
    });
  };
  return {
    contentType: res.headers.get('content-type'),
    next: async <T>(timeoutMs?: number): Promise<T> => (await nextEvent<T>(timeoutMs)).data,
    nextEvent,
    close: () => abort.abort(),
    ended,
  };
}
