/**
 * Persists the engine's changes off the event bus: `submit()` only queues (the bus handler never waits on the
 * database); one drain loop writes batches in order, one transaction per batch. A failing batch is retried op
 * by op, with backoff while the database is down; an op the database rejects as invalid (SQLSTATE class 22/23)
 * is dropped, logged and counted instead of blocking the queue forever.
 *
 * The queue shrinks under pressure: a raise for a (vehicle, kind) whose previous queued op is a raise not yet
 * being written is merged into it (one more occurrence, the later details and last-seen time) — the database
 * would have applied exactly that. A resolve and the raise after it are never merged: each opened/resolved pair
 * is an alert of its own in the history. The queue is bounded: past `maxQueued` the oldest op is dropped and
 * counted (alerts are repaired from the vehicles' state at the next start).
 *
 * stop() writes everything queued for as long as the database makes progress; it gives up only after
 * `stallMs` without a successful write, and logs and returns the number of changes left unwritten.
 */
import { backoffDelay } from '../../../../../src/shared/backoff.js';
import { drainUntilStalled } from '../../../platform/drain.js';
import { errorFields, type Logger } from '../../../platform/log.js';
import { isRejectedByDatabase, type WriteOutcome, type WriteRow } from '../data/alerts.repository.js';
import type { AlertOp, AlertOpSink } from './alert-engine.js';
import { ALERT_POLICIES } from './alert-policies.js';

export interface AlertStore {
  write(rows: readonly WriteRow[]): Promise<WriteOutcome[]>;
}

export interface AlertWriterOptions {
  batchSize?: number;
  maxQueued?: number;
  retryBaseMs?: number;
  retryMaxMs?: number;
  onWritten?: (op: AlertOp, outcome: WriteOutcome) => void;
  onDropped?: (reason: 'overflow' | 'rejected') => void;
  onRetry?: () => void;
  /** a raise merged into the one queued before it (not written separately) */
  onCoalesced?: () => void;
}

/** A queued op; raises merged into it add occurrences and move its last-seen time. */
interface QueuedOp {
  op: AlertOp;
  lastAt: number;
  /** raises merged into this one that each count one more occurrence */
  extraOccurrences: number;
  /** part of the batch being written now: no more merging into it */
  writing: boolean;
}

export class AlertWriter implements AlertOpSink {
  private queue: QueuedOp[] = [];
  private head = 0;
  /** the last queued op per (vehicle, kind), the one a new raise may merge into */
  private readonly lastByKey = new Map<string, QueuedOp>();
  /** ops the database answered (written or rejected): progress, for the stop deadline */
  private settled = 0;
  /** stop() gave up: whatever a write in flight returns, nothing is queued any more */
  private abandoned = false;
  private draining = false;
  private stopped = false;
  private retryTimer: NodeJS.Timeout | undefined;
  private failures = 0;
  /** ops to write one at a time (after a batch failed), so one bad op cannot sink its neighbours */
  private singles = 0;
  private idleWaiters: Array<() => void> = [];
  private readonly batchSize: number;
  private readonly maxQueued: number;
  private readonly retryBaseMs: number;
  private readonly retryMaxMs: number;

  constructor(
    private readonly store: AlertStore,
    private readonly log: Logger,
    private readonly options: AlertWriterOptions = {},
  ) {
    this.batchSize = options.batchSize ?? 200;
    this.maxQueued = options.maxQueued ?? 100_000;
    this.retryBaseMs = options.retryBaseMs ?? 100;
    this.retryMaxMs = options.retryMaxMs ?? 5_000;
  }

  get pending(): number {
    return this.queue.length - this.head;
  }

  /** nothing queued and nothing being written */
  get idle(): boolean {
    return this.pending === 0 && !this.draining;
  }

  submit(op: AlertOp): void {
    if (this.stopped) return;
    const key = opKey(op);
    const last = this.lastByKey.get(key);
    if (op.op === 'raise' && last && !last.writing && last.op.op === 'raise') {
      last.op = { ...last.op, details: op.details };
      last.lastAt = Math.max(last.lastAt, op.at);
      if (op.retrigger) last.extraOccurrences++;
      this.options.onCoalesced?.();
      return;
    }
    if (this.pending >= this.maxQueued) {
      this.advance(1);
      this.options.onDropped?.('overflow');
      this.log.error('alert write queue full; dropped the oldest change', { maxQueued: this.maxQueued });
    }
    const queued: QueuedOp = { op, lastAt: op.at, extraOccurrences: 0, writing: false };
    this.queue.push(queued);
    this.lastByKey.set(key, queued);
    if (!this.draining && !this.retryTimer) {
      this.draining = true;
      queueMicrotask(() => void this.drain());
    }
  }

  /** Resolves once everything submitted so far is written (or dropped). */
  flush(): Promise<void> {
    if (this.idle && !this.retryTimer) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /**
   * Stops accepting changes and writes what is queued for as long as the database makes progress; gives up
   * after `stallMs` without a successful write (a database that is down at shutdown must not keep the process
   * alive). Returns the number of changes left unwritten (logged as lost; the next start repairs them).
   */
  async stop(stallMs = 10_000): Promise<number> {
    this.stopped = true;
    const left = await drainUntilStalled(
      {
        pending: () => this.pending,
        written: () => this.settled,
        writeOnce: () => this.flushOrTick(250),
      },
      { stallMs },
    );
    if (left > 0) {
      this.log.error('alert changes not written at shutdown', { lost: left, stalledForMs: stallMs });
      this.abandoned = true;
      this.queue = [];
      this.head = 0;
      this.lastByKey.clear();
    }
    clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    this.wakeIdle();
    return left;
  }

  /** Resolves when the queue is idle or after `ms`, whichever comes first. */
  private async flushOrTick(ms: number): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.flush(), new Promise<void>((resolve) => (timer = setTimeout(resolve, ms)))]);
    clearTimeout(timer);
  }

  private async drain(): Promise<void> {
    this.draining = true;
    this.retryTimer = undefined;
    try {
      while (this.pending > 0 && !this.abandoned) {
        const size = this.singles > 0 ? 1 : Math.min(this.batchSize, this.pending);
        const batch = this.queue.slice(this.head, this.head + size);
        for (const q of batch) q.writing = true;
        try {
          const outcomes = await this.store.write(batch.map(toRow));
          if (this.abandoned) return;
          this.advance(size);
          this.settled += size;
          if (this.singles > 0) this.singles--;
          this.failures = 0;
          batch.forEach((q, i) => this.options.onWritten?.(q.op, outcomes[i]!));
        } catch (err) {
          for (const q of batch) q.writing = false;
          if (this.abandoned) return;
          if (size > 1) {
            this.singles = size;
            continue;
          }
          if (isRejectedByDatabase(err)) {
            this.advance(1);
            this.settled++;
            this.singles = Math.max(0, this.singles - 1);
            this.options.onDropped?.('rejected');
            this.log.error('alert change rejected by the database; dropped', { ...errorFields(err), op: batch[0]!.op });
            continue;
          }
          this.failures++;
          this.options.onRetry?.();
          const delay = backoffDelay(this.failures, { initialMs: this.retryBaseMs, maxMs: this.retryMaxMs, maxExponent: 16 });
          if (this.failures === 1 || this.failures % 20 === 0)
            this.log.warn('writing alert changes failed; retrying', { ...errorFields(err), pending: this.pending, retryInMs: delay });
          this.retryTimer = setTimeout(() => void this.drain(), delay);
          return;
        }
      }
    } finally {
      if (!this.retryTimer) {
        this.draining = false;
        if (this.pending > 0 && !this.stopped) {
          // submitted while the last batch was being written, after the loop checked
          this.draining = true;
          queueMicrotask(() => void this.drain());
        } else {
          this.wakeIdle();
        }
      }
    }
  }

  private advance(n: number): void {
    for (let i = this.head; i < this.head + n && i < this.queue.length; i++) {
      const q = this.queue[i]!;
      const key = opKey(q.op);
      if (this.lastByKey.get(key) === q) this.lastByKey.delete(key);
    }
    this.head += n;
    if (this.head >= 1024 && this.head * 2 >= this.queue.length) {
      this.queue = this.queue.slice(this.head);
      this.head = 0;
    }
  }

  private wakeIdle(): void {
    if (!this.idle && !this.stopped) return;
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const w of waiters) w();
  }
}

function opKey(op: AlertOp): string {
  return `${op.vehicleId}\u0000${op.kind}`;
}

function toRow({ op, lastAt, extraOccurrences }: QueuedOp): WriteRow {
  if (op.op === 'raise') {
    return {
      op: 'raise',
      vehicleId: op.vehicleId,
      kind: op.kind,
      severity: ALERT_POLICIES[op.kind].severity,
      at: op.at,
      lastAt,
      details: op.details,
      countOccurrence: op.retrigger,
      extraOccurrences,
    };
  }
  return { op: 'resolve', vehicleId: op.vehicleId, kind: op.kind, at: op.at, resolvedBy: 'system', resolution: `auto: ${op.reason}` };
}
