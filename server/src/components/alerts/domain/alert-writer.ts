/**
 * Persists the engine's changes off the event bus: `submit()` only queues (the bus handler never waits on the
 * database); one drain loop writes batches in order, one transaction per batch. A failing batch is retried op
 * by op, with backoff while the database is down; an op the database rejects as invalid (SQLSTATE class 22/23)
 * is dropped, logged and counted instead of blocking the queue forever. The queue is bounded: past `maxQueued`
 * the oldest op is dropped and counted (the periodic reconcile repairs what a lost op left behind).
 */
import { backoffDelay } from '../../../../../src/shared/backoff.js';
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
}

export class AlertWriter implements AlertOpSink {
  private queue: AlertOp[] = [];
  private head = 0;
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
    if (this.pending >= this.maxQueued) {
      this.head++;
      this.options.onDropped?.('overflow');
      this.log.error('alert write queue full; dropped the oldest change', { maxQueued: this.maxQueued });
    }
    this.queue.push(op);
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
   * Stops accepting changes and writes what is queued, waiting at most `timeoutMs` (a database that is down at
   * shutdown must not keep the process alive); what is left is logged as lost.
   */
  async stop(timeoutMs = 5_000): Promise<void> {
    this.stopped = true;
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), timeoutMs)));
    const result = await Promise.race([this.flush().then(() => 'done' as const), timedOut]);
    clearTimeout(timer);
    if (result === 'timeout' || this.pending > 0) {
      this.log.error('alert changes not written at shutdown', { lost: this.pending });
      this.queue = [];
      this.head = 0;
    }
    clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    this.wakeIdle();
  }

  private async drain(): Promise<void> {
    this.draining = true;
    this.retryTimer = undefined;
    try {
      while (this.pending > 0) {
        const size = this.singles > 0 ? 1 : Math.min(this.batchSize, this.pending);
        const batch = this.queue.slice(this.head, this.head + size);
        try {
          const outcomes = await this.store.write(batch.map(toRow));
          this.advance(size);
          if (this.singles > 0) this.singles--;
          this.failures = 0;
          batch.forEach((op, i) => this.options.onWritten?.(op, outcomes[i]!));
        } catch (err) {
          if (size > 1) {
            this.singles = size;
            continue;
          }
          if (isRejectedByDatabase(err)) {
            this.advance(1);
            this.singles = Math.max(0, this.singles - 1);
            this.options.onDropped?.('rejected');
            this.log.error('alert change rejected by the database; dropped', { ...errorFields(err), op: batch[0] });
            continue;
          }
          this.failures++;
          this.options.onRetry?.();
          const delay = backoffDelay(this.failures, { initialMs: this.retryBaseMs, maxMs: this.retryMaxMs, maxExponent: 16 });
          if (this.failures === 1 || this.failures % 20 === 0)
            this.log.warn('writing alert changes failed; retrying', { ...errorFields(err), pending: this.pending, retryInMs: delay });
          if (this.stopped && this.failures > 3) return; // stop() reports what is lost
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

function toRow(op: AlertOp): WriteRow {
  if (op.op === 'raise') {
    return {
      op: 'raise',
      vehicleId: op.vehicleId,
      kind: op.kind,
      severity: ALERT_POLICIES[op.kind].severity,
      at: op.at,
      details: op.details,
      countOccurrence: op.retrigger,
    };
  }
  return { op: 'resolve', vehicleId: op.vehicleId, kind: op.kind, at: op.at, resolvedBy: 'system', resolution: `auto: ${op.reason}` };
}
