/**
 * The latest live state, buffered in memory and written to the database in batches.
 *
 * Why a buffer: at fleet scale telemetry arrives at tens of thousands of messages per second; one upsert per
 * message would make the database the bottleneck. Keyed by vehicle id, the buffer holds at most one entry per
 * vehicle, so its memory is bounded by the fleet size even when the database is slow or down.
 *
 * Order: a message whose device seq is not above the last accepted one is refused (duplicate/stale) here, and
 * the SQL upsert is monotonic in seq as well — state never moves backwards, whatever the delivery order.
 * The one exception is a seq reset (a device that lost its counter in a reboot; see isSeqReset and
 * docs/device-protocol.md), so that such a car is not frozen forever.
 *
 * Device clocks are never trusted for ordering or "last seen": both use the receive time. A clock further off
 * than the tolerance is flagged (counted) and its skew stored with the state.
 *
 * Each accepted message also goes to the telemetry history buffer, written on the same interval by its own flush.
 */
import { drainUntilStalled } from '../../../platform/drain.js';
import { errorFields, type Logger } from '../../../platform/log.js';
import { SerialFlush } from '../../../platform/serial-flush.js';
import type { TelemetryRows } from '../data/telemetry-columns.js';
import { vehicleLive, type TelemetrySample } from '../../../../../src/shared/fleet.js';
import type {
  LastTelemetry,
  StateBatch,
  StatusStateRow,
  TelemetryStateRow,
  VehicleStateRepository,
} from '../data/vehicle-state.repository.js';
import type { HistoryBuffer } from './history-buffer.js';

/**
 * One telemetry sample as the fleet domain sees it (decoded and validated by the devices component): the shared
 * live state without what the receiver adds (id from the topic, online flag, receive time).
 */
export type { TelemetrySample };

export type RecordOutcome = 'accepted' | 'duplicate' | 'stale';

/** A seq reset by rule 1 needs the device clock to have moved on by at least this much (a reboot takes a while). */
export const SEQ_RESET_MIN_TS_ADVANCE_MS = 60_000;

/** The last accepted telemetry of a vehicle, updated in place (one record per vehicle for the server's life). */
interface LastAccepted extends LastTelemetry {
  /** the id as first seen: one string per vehicle is what the pending state and the history hold */
  readonly vehicleId: string;
  /** after a seq reset: the old counter and the reset's device ts (NaN when there was none, or it is passed) */
  preResetSeq: number;
  preResetTs: number;
}

interface PendingTelemetry {
  sample: TelemetrySample;
  receivedAt: number;
  clockSkewMs: number;
  seqReset: boolean;
  /** the vehicle's first telemetry this instance accepted: its row may not exist yet (see TelemetryStateRow) */
  newRow: boolean;
}

interface PendingState {
  telemetry?: PendingTelemetry;
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
  /** |device ts − receive time| above this is flagged (still accepted) */
  clockSkewToleranceMs: number;
  /** rule 2 of a seq reset: nothing accepted from the device for this long (the heartbeat timeout) */
  seqResetSilenceMs: number;
  /** accepted messages also go here (history); absent = no history */
  history?: HistoryBuffer;
  onFlushFailed?: () => void;
  onClockSkew?: (vehicleId: string, skewMs: number) => void;
  onSeqReset?: (vehicleId: string, fromSeq: number, toSeq: number) => void;
  /** after a state batch committed (the benchmark and tests observe latency here) */
  onCommitted?: (rows: readonly TelemetryStateRow[]) => void;
}

export type TelemetryVerdict = { outcome: RecordOutcome; clockSkewMs: number };

export class LiveStateBuffer {
  private readonly last = new Map<string, LastAccepted>();
  private pending = new Map<string, PendingState>();
  /** state and history rows committed so far (progress, for the stop deadline) */
  private written = 0;
  /**
   * Latest state and history are independent writes, each serialized on its own (two pool connections on
   * PostgreSQL): a state batch never waits behind a long history write, which would add to publish → state latency.
   */
  private readonly stateFlusher = new SerialFlush(() => this.flushState());
  private readonly historyFlusher = new SerialFlush(() => this.flushHistory());

  constructor(
    private readonly repo: Pick<VehicleStateRepository, 'writeBatch' | 'lastTelemetry'> & {
      writeHistory?: (rows: TelemetryRows) => Promise<void>;
    },
    private readonly log: Logger,
    private readonly options: LiveStateBufferOptions,
  ) {}

  async start(): Promise<void> {
    for (const [id, last] of await this.repo.lastTelemetry())
      this.last.set(id, {
        vehicleId: id,
        seq: last.seq,
        deviceTs: last.deviceTs,
        receivedAt: last.receivedAt,
        preResetSeq: NaN,
        preResetTs: NaN,
      });
    this.stateFlusher.every(this.options.flushIntervalMs);
    this.historyFlusher.every(this.options.flushIntervalMs);
  }

  /**
   * Stops the timer and writes what is still pending, for as long as the database makes progress (gives up after
   * `stallMs` without a successful write). Returns what is left unwritten: vehicles' latest states, history rows.
   */
  async stop(stallMs = 10_000): Promise<{ states: number; historyRows: number }> {
    await Promise.all([this.stateFlusher.stop(), this.historyFlusher.stop()]);
    const historySize = () => this.options.history?.size ?? 0;
    await drainUntilStalled(
      { pending: () => this.pending.size + historySize(), written: () => this.written, writeOnce: () => this.flush() },
      { stallMs },
    );
    return { states: this.pending.size, historyRows: historySize() };
  }

  get pendingCount(): number {
    return this.pending.size;
  }

  recordTelemetry(vehicleId: string, sample: TelemetrySample, receivedAt: number): RecordOutcome {
    return this.judgeTelemetry(vehicleId, sample, receivedAt).outcome;
  }

  /** Like recordTelemetry, and says how far the device clock is off (device ts − receive time, ms). */
  judgeTelemetry(vehicleId: string, sample: TelemetrySample, receivedAt: number): TelemetryVerdict {
    const clockSkewMs = sample.deviceTs - receivedAt;
    const skewed = Math.abs(clockSkewMs) > this.options.clockSkewToleranceMs;
    let last = this.last.get(vehicleId);
    let seqReset = false;
    let newRow = false;
    if (last !== undefined) {
      // After a reset, a late message from before the reboot (seq up to the old counter, older device clock)
      // is stale although its seq is above the new counter.
      const hadReset = !Number.isNaN(last.preResetSeq);
      if (hadReset && sample.seq <= last.preResetSeq && sample.deviceTs < last.preResetTs) return { outcome: 'stale', clockSkewMs };
      if (sample.seq <= last.seq) {
        if (!this.isSeqReset(last, sample, receivedAt, skewed))
          return { outcome: sample.seq === last.seq ? 'duplicate' : 'stale', clockSkewMs };
        seqReset = true;
        // the highest counter from before any reboot still unpassed
        last.preResetSeq = Math.max(last.seq, hadReset && sample.seq <= last.preResetSeq ? last.preResetSeq : 0);
        last.preResetTs = sample.deviceTs;
        this.options.onSeqReset?.(vehicleId, last.seq, sample.seq);
      } else if (hadReset && sample.seq > last.preResetSeq) {
        last.preResetSeq = NaN;
        last.preResetTs = NaN;
      }
      last.seq = sample.seq;
      last.deviceTs = sample.deviceTs;
      last.receivedAt = receivedAt;
    } else {
      last = { vehicleId, seq: sample.seq, deviceTs: sample.deviceTs, receivedAt, preResetSeq: NaN, preResetTs: NaN };
      this.last.set(vehicleId, last);
      newRow = true;
    }
    if (skewed) this.options.onClockSkew?.(vehicleId, clockSkewMs);
    const id = last.vehicleId;
    const entry = this.entry(id);
    // A reset inside one flush window must still reach the database as a reset (the SQL guard checks it).
    seqReset ||= entry.telemetry?.seqReset ?? false;
    newRow ||= entry.telemetry?.newRow ?? false;
    if (entry.telemetry) {
      const t = entry.telemetry;
      t.sample = sample;
      t.receivedAt = receivedAt;
      t.clockSkewMs = clockSkewMs;
      t.seqReset = seqReset;
      t.newRow = newRow;
    } else {
      entry.telemetry = { sample, receivedAt, clockSkewMs, seqReset, newRow };
    }
    this.options.history?.push(id, sample, receivedAt, clockSkewMs);
    // Telemetry proves a live connection. A later offline status (last will) still wins: MQTT delivers a
    // connection's messages in order and the will only after that connection is gone.
    entry.online = true;
    entry.statusAfterTelemetry = false;
    entry.seenAt = Math.max(entry.seenAt ?? 0, receivedAt);
    if (this.pending.size >= this.options.maxBatch) void this.stateFlusher.request();
    return { outcome: 'accepted', clockSkewMs };
  }

  /**
   * A seq at or below the last accepted one is a seq reset (device rebooted and lost its counter), not a
   * duplicate or a late message, when either
   *  1. its device clock is sane (within the skew tolerance) and more than SEQ_RESET_MIN_TS_ADVANCE_MS ahead of
   *     the last accepted message's device clock — a late or repeated message carries an older or equal ts; or
   *  2. nothing was accepted from the device for seqResetSilenceMs (receive time): a device with a broken clock
   *     that reboots is accepted again after one heartbeat timeout instead of never.
   * An exact repeat (same seq and ts) is always a duplicate.
   */
  private isSeqReset(last: LastTelemetry, sample: TelemetrySample, receivedAt: number, skewed: boolean): boolean {
    if (sample.seq === last.seq && sample.deviceTs === last.deviceTs) return false;
    if (!skewed && sample.deviceTs - last.deviceTs > SEQ_RESET_MIN_TS_ADVANCE_MS) return true;
    return receivedAt - last.receivedAt > this.options.seqResetSilenceMs;
  }

  /** `retained`: replayed by the broker on subscribe — it sets online/offline but says nothing about "last seen". */
  recordStatus(vehicleId: string, online: boolean, receivedAt: number, retained: boolean): void {
    const entry = this.entry(vehicleId);
    entry.online = online;
    entry.statusAfterTelemetry = true;
    if (!retained) entry.seenAt = Math.max(entry.seenAt ?? 0, receivedAt);
    if (this.pending.size >= this.options.maxBatch) void this.stateFlusher.request();
  }

  /**
   * Writes everything pending. Flushes run one at a time; a request while one is queued joins it. Never
   * rejects: a failed batch goes back into the buffer (newer entries win) and is retried on the next tick.
   */
  async flush(): Promise<void> {
    await Promise.all([this.stateFlusher.request(), this.historyFlusher.request()]);
  }

  private entry(vehicleId: string): PendingState {
    let entry = this.pending.get(vehicleId);
    if (!entry) {
      entry = { statusAfterTelemetry: false };
      this.pending.set(vehicleId, entry);
    }
    return entry;
  }

  private async flushState(): Promise<void> {
    if (this.pending.size === 0) return;
    const taken = [...this.pending];
    this.pending = new Map();
    for (let i = 0; i < taken.length; i += this.options.maxBatch) {
      const chunk = taken.slice(i, i + this.options.maxBatch);
      try {
        const batch = toBatch(chunk);
        await this.repo.writeBatch(batch);
        this.written += chunk.length;
        this.options.onCommitted?.(batch.telemetry);
      } catch (err) {
        this.requeue(taken.slice(i));
        this.options.onFlushFailed?.();
        this.log.error('writing live state failed; will retry', { vehicles: taken.length - i, ...errorFields(err) });
        return;
      }
    }
  }

  private async flushHistory(): Promise<void> {
    const { history } = this.options;
    const write = this.repo.writeHistory;
    if (!history || !write) return;
    // Only what is buffered now: under a constant inflow the loop must end so that the next flush can start.
    for (let budget = history.size, rows = history.take(); rows; rows = budget > 0 ? history.take() : undefined) {
      budget -= rows.length;
      try {
        await write.call(this.repo, rows);
        this.written += rows.length;
        history.recycle(rows);
      } catch (err) {
        history.putBack(rows); // bounded: what does not fit is dropped and counted
        this.options.onFlushFailed?.();
        this.log.error('writing telemetry history failed; will retry', { rows: rows.length, ...errorFields(err) });
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
  // a reset that failed to write: what the device sent after it is below the stored seq too; a first row that
  // failed to write may still be missing
  if (telemetry && older.telemetry?.seqReset) telemetry.seqReset = true;
  if (telemetry && older.telemetry?.newRow) telemetry.newRow = true;
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
    const t = entry.telemetry;
    if (t) {
      // VehicleLive's fields (one mapping of a sample), keyed by vehicleId as the row is
      const { id: _id, ...live } = vehicleLive(vehicleId, t.sample, Math.max(t.receivedAt, entry.seenAt ?? 0), online);
      telemetry.push({ vehicleId, ...live, clockSkewMs: t.clockSkewMs, seqReset: t.seqReset, rowExists: !t.newRow });
    }
    if (!t || entry.statusAfterTelemetry) statuses.push({ vehicleId, online, receivedAt: entry.seenAt ?? null });
  }
  return { telemetry, statuses };
}
