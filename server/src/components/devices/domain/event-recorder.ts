/**
 * Device events (door, ignition, crash, …): buffered, inserted in batches like the latest state, and emitted as
 * `vehicle.event` once their row is committed — only for rows the insert actually created, so a QoS 1
 * redelivery (or a copy another instance stored first) is dropped as `duplicate` and never emitted twice, also
 * across restarts. Bounded: beyond `capacity` pending events new ones are dropped as `overload` (counted).
 */
import type { DeviceEvent } from '../../../../../src/shared/device-protocol.js';
import { drainUntilStalled } from '../../../platform/drain.js';
import { SerialFlush } from '../../../platform/serial-flush.js';
import { errorFields, type Logger } from '../../../platform/log.js';
import { eventKey, type EventRow, type VehicleEventsRepository } from '../data/vehicle-events.repository.js';

export interface EventRecorderOptions {
  flushIntervalMs: number;
  maxBatch: number;
  capacity: number;
  onStored: (row: EventRow) => void;
  onDuplicate: (row: EventRow) => void;
  onFlushFailed?: () => void;
}

export type EventRecordOutcome = 'queued' | 'duplicate' | 'overload';

export class EventRecorder {
  private pending = new Map<string, EventRow>();
  /** events the database answered (stored or found stored): progress, for the stop deadline */
  private written = 0;
  private readonly flusher = new SerialFlush(() => this.flushPending());

  constructor(
    private readonly repo: Pick<VehicleEventsRepository, 'insertNew'>,
    private readonly log: Logger,
    private readonly options: EventRecorderOptions,
  ) {}

  start(): void {
    this.flusher.every(this.options.flushIntervalMs);
  }

  /**
   * Stops the timer and writes what is pending for as long as the database makes progress (gives up after
   * `stallMs` without a successful write); returns the number of events left unwritten.
   */
  async stop(stallMs = 10_000): Promise<number> {
    await this.flusher.stop();
    return drainUntilStalled(
      { pending: () => this.pending.size, written: () => this.written, writeOnce: () => this.flusher.request() },
      { stallMs },
    );
  }

  get pendingCount(): number {
    return this.pending.size;
  }

  record(vehicleId: string, event: DeviceEvent, receivedAt: number): EventRecordOutcome {
    const key = eventKey(vehicleId, event.seq, event.ts);
    if (this.pending.has(key)) return 'duplicate'; // redelivered before the first copy was written
    if (this.pending.size >= this.options.capacity) return 'overload';
    this.pending.set(key, { vehicleId, event, receivedAt });
    if (this.pending.size >= this.options.maxBatch) void this.flush();
    return 'queued';
  }

  /** Writes what is pending; never rejects (a failed batch stays pending and is retried). */
  flush(): Promise<void> {
    return this.flusher.request();
  }

  private async flushPending(): Promise<void> {
    if (this.pending.size === 0) return;
    const taken = [...this.pending];
    this.pending = new Map();
    for (let i = 0; i < taken.length; i += this.options.maxBatch) {
      const chunk = taken.slice(i, i + this.options.maxBatch);
      let inserted: Set<string>;
      try {
        inserted = await this.repo.insertNew(chunk.map(([, row]) => row));
        this.written += chunk.length;
      } catch (err) {
        for (const [key, row] of taken.slice(i)) if (!this.pending.has(key)) this.pending.set(key, row);
        this.options.onFlushFailed?.();
        this.log.error('writing device events failed; will retry', { events: taken.length - i, ...errorFields(err) });
        return;
      }
      for (const [key, row] of chunk) {
        if (inserted.has(key)) this.options.onStored(row);
        else this.options.onDuplicate(row);
      }
    }
  }
}
