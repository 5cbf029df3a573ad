/**
 * The latest live state, buffered in memory and written to the database in batches.
 *
 * Why a buffer: at fleet scale telemetry arrives at tens of thousands of messages per second; one upsert per
 * message would make the database the bottleneck. Keyed by vehicle id, the buffer holds at most one entry per
 * vehicle, so its memory is bounded by the fleet size even when the database is slow or down.
 *
 * Order: a message whose device seq is not above the last accepted one is refused (duplicate/stale) here, and
 * the SQL upsert is monotonic in seq as well — state never moves backwards, whatever the delivery order.
 */
import { errorFields, type Logger } from '../../../platform/log.js';
import type { StateBatch, StatusStateRow, TelemetryStateRow, VehicleStateRepository } from '../data/vehicle-state.repository.js';

/** One telemetry sample as the fleet domain sees it (decoded and validated by the devices component). */
export interface TelemetrySample {
  seq: number;
  /** device clock, epoch ms */
  deviceTs: number;
  lat: number;
  lon: number;
  speedKph: number;
  headingDeg: number;
  /** fuel or battery, whichever the vehicle has */
  energyPct: number;
  odometerKm: number;
  ignition: boolean;
  locked: boolean;
  doorsClosed: boolean;
}

export type RecordOutcome = 'accepted' | 'duplicate' | 'stale';

interface PendingState {
  telemetry?: TelemetrySample & { receivedAt: number };
  online?: boolean;
  /** a status message set `online` after this entry's telemetry (or there is no telemetry) */
  statusAfterTelemetry: boolean;
  /** last message that proves the device is alive (retained statuses do not) */
  seenAt?: number;
}

export interface LiveStateBufferOptions {
  flushIntervalMs: number;
  /** a flush starts early once this many vehicles are pending; also the rows per transaction */
  maxBatch: number;
  onFlushFailed?: () => void;
}

export class LiveStateBuffer {
  private readonly lastSeq = new Map<string, number>();
  private pending = new Map<string, PendingState>();
  private chain: Promise<void> = Promise.resolve();
  private flushQueued = false;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly repo: Pick<VehicleStateRepository, 'writeBatch' | 'lastSeqs'>,
    private readonly log: Logger,
    private readonly options: LiveStateBufferOptions,
  ) {}

  async start(): Promise<void> {
    for (const [id, seq] of await this.repo.lastSeqs()) this.lastSeq.set(id, seq);
    this.timer = setInterval(() => void this.flush(), this.options.flushIntervalMs);
  }

  /** Stops the timer and writes what is still pending. */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.flush();
  }

  get pendingCount(): number {
    return this.pending.size;
  }

  recordTelemetry(vehicleId: string, sample: TelemetrySample, receivedAt: number): RecordOutcome {
    const last = this.lastSeq.get(vehicleId);
    if (last !== undefined && sample.seq <= last) return sample.seq === last ? 'duplicate' : 'stale';
    this.lastSeq.set(vehicleId, sample.seq);
    const entry = this.entry(vehicleId);
    entry.telemetry = { ...sample, receivedAt };
    // Telemetry proves a live connection. A later offline status (last will) still wins: MQTT delivers a
    // connection's messages in order and the will only after that connection is gone.
    entry.online = true;
    entry.statusAfterTelemetry = false;
    entry.seenAt = Math.max(entry.seenAt ?? 0, receivedAt);
    if (this.pending.size >= this.options.maxBatch) void this.flush();
    return 'accepted';
  }

  /** `retained`: replayed by the broker on subscribe — it sets online/offline but says nothing about "last seen". */
  recordStatus(vehicleId: string, online: boolean, receivedAt: number, retained: boolean): void {
    const entry = this.entry(vehicleId);
    entry.online = online;
    entry.statusAfterTelemetry = true;
    if (!retained) entry.seenAt = Math.max(entry.seenAt ?? 0, receivedAt);
    if (this.pending.size >= this.options.maxBatch) void this.flush();
  }

  /**
   * Writes everything pending. Flushes run one at a time; a request while one is queued joins it. Never
   * rejects: a failed batch goes back into the buffer (newer entries win) and is retried on the next tick.
   */
  flush(): Promise<void> {
    if (!this.flushQueued) {
      this.flushQueued = true;
      this.chain = this.chain.then(() => {
        this.flushQueued = false;
        return this.flushPending();
      });
    }
    return this.chain;
  }

  private entry(vehicleId: string): PendingState {
    let entry = this.pending.get(vehicleId);
    if (!entry) {
      entry = { statusAfterTelemetry: false };
      this.pending.set(vehicleId, entry);
    }
    return entry;
  }

  private async flushPending(): Promise<void> {
    if (this.pending.size === 0) return;
    const taken = [...this.pending];
    this.pending = new Map();
    for (let i = 0; i < taken.length; i += this.options.maxBatch) {
      const chunk = taken.slice(i, i + this.options.maxBatch);
      try {
        await this.repo.writeBatch(toBatch(chunk));
      } catch (err) {
        this.requeue(taken.slice(i));
        this.options.onFlushFailed?.();
        this.log.error('writing live state failed; will retry', { vehicles: taken.length - i, ...errorFields(err) });
        return;
      }
    }
  }

  private requeue(entries: Array<[string, PendingState]>): void {
    for (const [id, older] of entries) {
      const newer = this.pending.get(id);
      this.pending.set(id, newer ? merge(older, newer) : older);
    }
  }
}

function merge(older: PendingState, newer: PendingState): PendingState {
  const telemetry = newer.telemetry ?? older.telemetry;
  const online = newer.online ?? older.online;
  const seenAt = Math.max(older.seenAt ?? 0, newer.seenAt ?? 0) || undefined;
  return {
    ...(telemetry ? { telemetry } : {}),
    ...(online === undefined ? {} : { online }),
    ...(seenAt === undefined ? {} : { seenAt }),
    statusAfterTelemetry: newer.telemetry ? newer.statusAfterTelemetry : older.statusAfterTelemetry || newer.statusAfterTelemetry,
  };
}

function toBatch(entries: Array<[string, PendingState]>): StateBatch {
  const telemetry: TelemetryStateRow[] = [];
  const statuses: StatusStateRow[] = [];
  for (const [vehicleId, entry] of entries) {
    const online = entry.online ?? true;
    if (entry.telemetry) {
      const { receivedAt, ...sample } = entry.telemetry;
      telemetry.push({ vehicleId, ...sample, online, receivedAt: Math.max(receivedAt, entry.seenAt ?? 0) });
    }
    if (!entry.telemetry || entry.statusAfterTelemetry) statuses.push({ vehicleId, online, receivedAt: entry.seenAt ?? null });
  }
  return { telemetry, statuses };
}
