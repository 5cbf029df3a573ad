/**
 * Server-Sent Events for the replica: one LISTEN (`fleetdesk_sync`, payload = collection) per server instance
 * wakes the streams of that collection; each stream then pulls what is new after its own checkpoint and sends
 * it as `{documents, checkpoint}`. Bursts are coalesced (one pull per stream per `minIntervalMs`); a comment
 * line every `heartbeatMs` keeps proxies from closing an idle stream; a slow safety poll covers a lost LISTEN
 * connection. A stream far behind gets page after page, each written only once the previous one drained. A
 * stream whose checkpoint is older than the tombstone retention gets `"RESYNC"` and is closed (its pull then
 * answers 410 `checkpoint_too_old`).
 */
import type { ServerResponse } from 'node:http';
import type { SyncCollection } from '../../../../../src/shared/sync-protocol.js';
import { errorFields, type Logger } from '../../../platform/log.js';

export const SYNC_CHANNEL = 'fleetdesk_sync';

export interface StreamHubOptions {
  listen(channel: string, handler: (payload: string) => void): Promise<() => Promise<void>>;
  /** documents after `checkpoint` (at most `limit`), and the new checkpoint */
  pull(collection: SyncCollection, checkpoint: number, limit: number): Promise<{ documents: unknown[]; checkpoint: number }>;
  log: Logger;
  minIntervalMs?: number;
  heartbeatMs?: number;
  safetyPollMs?: number;
  pageSize?: number;
}

interface Stream {
  collection: SyncCollection;
  res: ServerResponse;
  checkpoint: number;
  running: boolean;
  dirty: boolean;
  lastPullAt: number;
  timer: NodeJS.Timeout | undefined;
  closed: boolean;
}

export class StreamHub {
  private readonly streams = new Set<Stream>();
  private unlisten: (() => Promise<void>) | undefined;
  private heartbeat: NodeJS.Timeout | undefined;
  private safetyPoll: NodeJS.Timeout | undefined;
  private readonly minIntervalMs: number;
  private readonly pageSize: number;

  constructor(private readonly options: StreamHubOptions) {
    this.minIntervalMs = options.minIntervalMs ?? 100;
    this.pageSize = options.pageSize ?? 500;
  }

  async start(): Promise<void> {
    this.unlisten = await this.options.listen(SYNC_CHANNEL, (payload) => this.wake(payload));
    this.heartbeat = setInterval(() => {
      for (const s of this.streams) write(s, ': ping\n\n');
    }, this.options.heartbeatMs ?? 15_000);
    this.safetyPoll = setInterval(() => {
      for (const s of this.streams) this.schedule(s);
    }, this.options.safetyPollMs ?? 30_000);
    this.heartbeat.unref();
    this.safetyPoll.unref();
  }

  get size(): number {
    return this.streams.size;
  }

  /** Takes over `res` (headers already written); sends everything after `checkpoint` first. */
  open(collection: SyncCollection, res: ServerResponse, checkpoint: number): void {
    const stream: Stream = { collection, res, checkpoint, running: false, dirty: false, lastPullAt: 0, timer: undefined, closed: false };
    this.streams.add(stream);
    res.on('close', () => this.close(stream));
    res.on('error', () => this.close(stream));
    this.schedule(stream);
  }

  /** Wakes every stream of a collection (a NOTIFY; also callable directly). */
  wake(collection: string): void {
    for (const s of this.streams) if (s.collection === collection) this.schedule(s);
  }

  async stop(): Promise<void> {
    clearInterval(this.heartbeat);
    clearInterval(this.safetyPoll);
    for (const s of [...this.streams]) {
      this.close(s);
      s.res.end();
    }
    await this.unlisten?.().catch(() => undefined);
    this.unlisten = undefined;
  }

  private schedule(s: Stream): void {
    if (s.closed) return;
    if (s.running) {
      s.dirty = true;
      return;
    }
    if (s.timer) return;
    const wait = Math.max(0, s.lastPullAt + this.minIntervalMs - Date.now());
    s.timer = setTimeout(() => {
      s.timer = undefined;
      void this.run(s);
    }, wait);
  }

  private async run(s: Stream): Promise<void> {
    if (s.closed) return;
    s.running = true;
    s.dirty = false;
    s.lastPullAt = Date.now();
    try {
      while (!s.closed) {
        const page = await this.options.pull(s.collection, s.checkpoint, this.pageSize);
        if (s.closed) break;
        if (page.documents.length > 0) {
          const flushed = write(s, `data: ${JSON.stringify({ documents: page.documents, checkpoint: { seq: page.checkpoint } })}\n\n`);
          s.checkpoint = page.checkpoint;
          if (!flushed) await drained(s.res);
        }
        if (page.documents.length < this.pageSize) break;
      }
    } catch (err) {
      const code = (err as { code?: string }).code;
      if (code === 'checkpoint_too_old') {
        write(s, 'data: "RESYNC"\n\n');
        s.checkpoint = -1;
      } else {
        this.options.log.warn('sync stream pull failed; will retry', { collection: s.collection, ...errorFields(err) });
        s.dirty = true;
      }
    } finally {
      s.running = false;
    }
    if (s.checkpoint < 0) {
      this.close(s);
      s.res.end();
      return;
    }
    if (s.dirty) this.schedule(s);
  }

  private close(s: Stream): void {
    if (s.closed) return;
    s.closed = true;
    clearTimeout(s.timer);
    this.streams.delete(s);
  }
}

/** false: the socket buffer is full (wait for 'drain'). */
function write(s: Stream, chunk: string): boolean {
  if (s.closed || s.res.writableEnded) return true;
  return s.res.write(chunk);
}

function drained(res: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      res.off('drain', done);
      res.off('close', done);
      resolve();
    };
    res.on('drain', done);
    res.on('close', done);
  });
}
