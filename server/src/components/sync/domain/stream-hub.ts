/**
 * Server-Sent Events for the replica: while streams are open, each server instance reads every collection's
 * highest server_seq (`heads`, one cheap statement) every `headsPollMs` (100 ms) and wakes the streams that carry
 * a collection whose head moved — a write on any instance; each stream then pulls what is new after its own
 * checkpoint for that collection and sends it as `{documents, checkpoint}`. (Not LISTEN/NOTIFY: a NOTIFY in the
 * writing transaction takes PostgreSQL's one cluster-wide notify lock until its commit is flushed, which
 * serializes every replicated write again — issue 12 §4.)
 *
 * A stream carries one collection (`GET …/{collection}/stream`, untagged `data:` events) or several
 * (`GET …/stream?collections=a,b`: one connection for the whole replica — browsers allow 6 HTTP/1.1 connections
 * per origin — each event named after its collection with an `event:` line). Bursts are coalesced (one pull
 * round per stream per `minIntervalMs`, covering every collection woken meanwhile); a comment line every
 * `heartbeatMs` keeps proxies from closing an idle stream; a slow safety poll covers a lost LISTEN connection.
 * A collection far behind gets page after page, each written only once the previous one drained. A collection
 * whose pull says rows are held back (committed behind a transaction still open) is pulled again next round. One
 * whose checkpoint is older than the tombstone retention gets `"RESYNC"` and the stream is closed (the client's
 * pull then answers 410 `checkpoint_too_old` and it resyncs; it reopens the stream with its new checkpoints).
 */
import type { ServerResponse } from 'node:http';
import type { OperatorRole } from '../../../../../src/shared/operator-role.js';
import type { SyncCollection } from '../../../../../src/shared/sync-protocol.js';
import { errorFields, type Logger } from '../../../platform/log.js';

export interface StreamHubOptions {
  /** every collection's highest server_seq now (a collection absent: nothing yet) */
  heads(): Promise<Map<string, number>>;
  /** documents after `checkpoint` (at most `limit`), and the new checkpoint */
  pull(
    collection: SyncCollection,
    checkpoint: number,
    limit: number,
    role: OperatorRole,
  ): Promise<{ documents: unknown[]; checkpoint: number; heldBack?: boolean }>;
  log: Logger;
  minIntervalMs?: number;
  heartbeatMs?: number;
  safetyPollMs?: number;
  headsPollMs?: number;
  pageSize?: number;
}

interface Feed {
  checkpoint: number;
  dirty: boolean;
}

interface Stream {
  feeds: Map<SyncCollection, Feed>;
  /** the reader's role (what a pull may show it) */
  role: OperatorRole;
  /** several collections on one connection: events carry `event: <collection>` */
  tagged: boolean;
  res: ServerResponse;
  running: boolean;
  lastPullAt: number;
  timer: NodeJS.Timeout | undefined;
  /** ends the stream when the reader's access token expires */
  expiry: NodeJS.Timeout | undefined;
  closed: boolean;
}

export class StreamHub {
  private readonly streams = new Set<Stream>();
  /** set by stop(): a stream opened after it (its request was already in a handler) ends at once */
  private stopped = false;
  private headsTimer: NodeJS.Timeout | undefined;
  private lastHeads: Map<string, number> | undefined;
  private polling = false;
  private heartbeat: NodeJS.Timeout | undefined;
  private safetyPoll: NodeJS.Timeout | undefined;
  private readonly minIntervalMs: number;
  private readonly pageSize: number;

  constructor(private readonly options: StreamHubOptions) {
    this.minIntervalMs = options.minIntervalMs ?? 100;
    this.pageSize = options.pageSize ?? 500;
  }

  async start(): Promise<void> {
    this.headsTimer = setInterval(() => void this.pollHeads(), this.options.headsPollMs ?? 100);
    this.headsTimer.unref();
    this.heartbeat = setInterval(() => {
      for (const s of this.streams) write(s, ': ping\n\n');
    }, this.options.heartbeatMs ?? 15_000);
    this.safetyPoll = setInterval(() => {
      for (const s of this.streams) {
        for (const f of s.feeds.values()) f.dirty = true;
        this.schedule(s);
      }
    }, this.options.safetyPollMs ?? 30_000);
    this.heartbeat.unref();
    this.safetyPoll.unref();
  }

  get size(): number {
    return this.streams.size;
  }

  /**
   * Takes over `res` (headers already written); sends everything after each collection's checkpoint first.
   * `tagged`: name every event after its collection (the multiplexed stream). `until` (epoch ms): when the
   * reader's access token expires — the stream then ends with a `reauthenticate` event, and the client reconnects
   * with a fresh token (so a disabled account or a downgraded role stops receiving within one token lifetime).
   */
  open(
    feeds: ReadonlyArray<{ collection: SyncCollection; checkpoint: number }>,
    role: OperatorRole,
    res: ServerResponse,
    tagged: boolean,
    until?: number,
  ): void {
    if (this.stopped) {
      // The server is closing (HTTP waits for open responses): the client reconnects to another instance, or later.
      res.end();
      return;
    }
    const stream: Stream = {
      feeds: new Map(feeds.map((f) => [f.collection, { checkpoint: f.checkpoint, dirty: true }])),
      role,
      tagged,
      res,
      running: false,
      lastPullAt: 0,
      timer: undefined,
      expiry: undefined,
      closed: false,
    };
    this.streams.add(stream);
    if (until !== undefined) {
      // (setTimeout's limit is ~24.8 days; a token lives minutes)
      stream.expiry = setTimeout(() => this.expire(stream), Math.min(Math.max(0, until - Date.now()), 2_147_000_000));
      stream.expiry.unref();
    }
    res.on('close', () => this.close(stream));
    res.on('error', () => this.close(stream));
    this.schedule(stream);
  }

  /** Wakes every stream carrying a collection (its head moved; also callable directly). */
  wake(collection: string): void {
    for (const s of this.streams) {
      const feed = s.feeds.get(collection as SyncCollection);
      if (!feed) continue;
      feed.dirty = true;
      this.schedule(s);
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.headsTimer);
    clearInterval(this.heartbeat);
    clearInterval(this.safetyPoll);
    for (const s of [...this.streams]) {
      this.close(s);
      s.res.end();
    }
  }

  /** Wakes the collections whose head moved since the last look (nothing to do while no stream is open). */
  private async pollHeads(): Promise<void> {
    if (this.polling || this.stopped) return;
    if (this.streams.size === 0) {
      this.lastHeads = undefined; // the next stream pulls everything after its checkpoint when it opens anyway
      return;
    }
    this.polling = true;
    try {
      const heads = await this.options.heads();
      const last = this.lastHeads;
      this.lastHeads = heads;
      // (no earlier look: a write may have landed between a stream's first pull and now — wake them all once)
      for (const [collection, seq] of heads) if (last?.get(collection) !== seq) this.wake(collection);
    } catch (err) {
      this.options.log.warn('reading the sync heads failed; will retry', errorFields(err));
    } finally {
      this.polling = false;
    }
  }

  private schedule(s: Stream): void {
    if (s.closed || s.running || s.timer) return; // a running round re-checks the dirty flags before it ends
    const wait = Math.max(0, s.lastPullAt + this.minIntervalMs - Date.now());
    s.timer = setTimeout(() => {
      s.timer = undefined;
      void this.run(s);
    }, wait);
  }

  private async run(s: Stream): Promise<void> {
    if (s.closed) return;
    s.running = true;
    s.lastPullAt = Date.now();
    let resync = false;
    try {
      for (const [collection, feed] of s.feeds) {
        if (s.closed) break;
        if (!feed.dirty) continue;
        feed.dirty = false;
        try {
          resync = await this.drain(s, collection, feed);
        } catch (err) {
          this.options.log.warn('sync stream pull failed; will retry', { collection, ...errorFields(err) });
          feed.dirty = true;
        }
        if (resync) break;
      }
    } finally {
      s.running = false;
    }
    if (resync) {
      this.close(s);
      s.res.end();
      return;
    }
    // Changes that arrived during this round (or a failed pull) go in the next one, after the coalescing delay.
    if ([...s.feeds.values()].some((f) => f.dirty)) this.schedule(s);
  }

  /** Sends one collection's changes page by page; true when its checkpoint is too old (RESYNC sent). */
  private async drain(s: Stream, collection: SyncCollection, feed: Feed): Promise<boolean> {
    const prefix = s.tagged ? `event: ${collection}\n` : '';
    for (;;) {
      let page: { documents: unknown[]; checkpoint: number; heldBack?: boolean };
      try {
        page = await this.options.pull(collection, feed.checkpoint, this.pageSize, s.role);
      } catch (err) {
        if ((err as { code?: string }).code !== 'checkpoint_too_old') throw err;
        write(s, `${prefix}data: "RESYNC"\n\n`);
        return true;
      }
      if (s.closed) return false;
      if (page.documents.length > 0) {
        const flushed = write(
          s,
          `${prefix}data: ${JSON.stringify({ documents: page.documents, checkpoint: { seq: page.checkpoint } })}\n\n`,
        );
        feed.checkpoint = page.checkpoint;
        if (!flushed) await drained(s.res);
      }
      if (page.documents.length < this.pageSize) {
        // Committed rows wait behind a transaction still open (platform/db/replication.ts); the commit that
        // releases them may move no collection's head (it may not touch a replicated table): look again next round.
        if (page.heldBack) feed.dirty = true;
        return false;
      }
    }
  }

  private close(s: Stream): void {
    if (s.closed) return;
    s.closed = true;
    clearTimeout(s.timer);
    clearTimeout(s.expiry);
    this.streams.delete(s);
  }

  /** The reader's token expired: tell it why, end the stream (a round in flight stops at its next write). */
  private expire(s: Stream): void {
    if (s.closed) return;
    write(s, 'event: reauthenticate\ndata: "token expired"\n\n');
    this.close(s);
    s.res.end();
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
