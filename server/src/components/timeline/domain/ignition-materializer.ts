/**
 * The background materializer of the timeline's trips: moves a watermark through the telemetry history in batches
 * and keeps every ignition change found in `ignition_changes` (SQL in data/ignition-changes.repository.ts), so a
 * timeline page reads about a page of rows instead of the car's raw samples.
 *
 * - One batch at a time across every instance: each batch is one transaction that first takes a transaction-scoped
 *   advisory lock without waiting (another instance at it → this one skips the pass), then reads the watermark, so
 *   it always continues from the last committed batch — after a restart too.
 * - The watermark trails now by `lagMs` (TIMELINE_MATERIALIZE_LAG_S): history rows are written in batches after
 *   they are received, so the last seconds are left to the read, which derives the tail after the watermark from
 *   the samples.
 * - Backfill: on a database with history and no watermark yet, it starts at the oldest day partition and catches up
 *   batch after batch in the background (start does not wait); a batch's time step adapts so that it reads about
 *   `batchRows` samples.
 * - After retention dropped old partitions, changes whose previous sample is gone are forgotten (a read of what is
 *   left compares a car's oldest sample with nothing, as the window over the history does).
 * - A database outage: the history rows received meanwhile wait in memory and are written after it, later than
 *   the lag. After a failed pass the watermark stays behind the time of the first failure − lag until passes have
 *   succeeded for `recoveryHoldMs`, by when the held rows are written. (Rows held by another instance whose own
 *   database link failed are not seen this way.)
 */
import type { Db } from '../../../platform/db/index.js';
import { errorFields, type Logger } from '../../../platform/log.js';
import { WorkerLoop } from '../../../platform/worker-loop.js';
import {
  forgetBefore,
  materializeBatch,
  oldestHistoryDay,
  readWatermark,
  tryLockMaterializer,
} from '../data/ignition-changes.repository.js';

export interface IgnitionMaterializerOptions {
  /** the watermark stays this far behind now */
  lagMs: number;
  /** samples a batch aims at (default 50,000) */
  batchRows?: number;
  /** the longest stretch of history one batch covers (default one day) */
  maxStepMs?: number;
  /** after a failed pass, the watermark stays before the failure until passes succeeded this long (default 60 s) */
  recoveryHoldMs?: number;
  now?: () => number;
}

export interface MaterializerPass {
  /** another instance held the lock: nothing done */
  locked: boolean;
  samples: number;
  changes: number;
  /** the watermark after the pass (epoch ms), null while there is no history to start from */
  watermark: number | null;
  /** the watermark reached now − lag */
  caughtUp: boolean;
}

const MIN_STEP_MS = 1_000;
const FIRST_STEP_MS = 15 * 60_000;
const DAY_MS = 86_400_000;

export class IgnitionMaterializer {
  private readonly loop: WorkerLoop;
  private readonly batchRows: number;
  private readonly maxStepMs: number;
  private readonly now: () => number;
  private stepMs: number;
  /** the oldest history day the tables were last cleaned for */
  private cleanedFor: number | undefined;
  private backfill: { started: number; batches: number; samples: number } | undefined;
  /** since the first of a run of failed passes, and since when passes succeed again */
  private trouble: { since: number; recovered: number | undefined } | undefined;

  constructor(
    private readonly db: Db,
    private readonly log: Logger,
    private readonly options: IgnitionMaterializerOptions,
  ) {
    this.batchRows = options.batchRows ?? 50_000;
    this.maxStepMs = options.maxStepMs ?? DAY_MS;
    this.now = options.now ?? Date.now;
    this.stepMs = Math.min(FIRST_STEP_MS, this.maxStepMs);
    this.loop = new WorkerLoop(
      async () => !(await this.batch()).caughtUp,
      (err) => this.log.warn('materialising ignition changes failed; the next pass retries', errorFields(err)),
    );
  }

  /** now − lag, or before the first failure of a recent outage (the history written late is not in yet) */
  private target(): number {
    const now = this.now();
    const target = now - this.options.lagMs;
    if (!this.trouble) return target;
    this.trouble.recovered ??= now;
    if (now - this.trouble.recovered >= (this.options.recoveryHoldMs ?? 60_000)) {
      this.trouble = undefined;
      return target;
    }
    return Math.min(target, this.trouble.since - this.options.lagMs);
  }

  /** A pass every `intervalMs` and one now; a pass that is behind goes on with the next batch at once. */
  start(intervalMs = 5_000): void {
    this.loop.start(intervalMs);
  }

  /** Runs batches until the watermark has reached now − lag (or another instance holds the lock). */
  catchUp(): Promise<void> {
    return this.loop.drain();
  }

  stop(): Promise<void> {
    return this.loop.stop();
  }

  /** One batch: the history after the watermark, up to a step or now − lag, whichever comes first. */
  async batch(): Promise<MaterializerPass> {
    const target = this.target();
    let cleaned: number | undefined;
    const pass = await this.db
      .transaction(async (tx): Promise<MaterializerPass> => {
        if (!(await tryLockMaterializer(tx))) return { locked: true, samples: 0, changes: 0, watermark: null, caughtUp: true };
        const oldest = await oldestHistoryDay(tx);
        if (oldest !== null && oldest !== this.cleanedFor) {
          const forgotten = await forgetBefore(tx, oldest);
          if (forgotten > 0) this.log.info('ignition changes before the oldest history day forgotten', { forgotten, oldestDay: oldest });
          cleaned = oldest;
        }
        const watermark = await readWatermark(tx);
        // before the first batch, or when retention dropped history past the watermark: from the oldest day on
        const after = oldest === null ? watermark : Math.max(watermark ?? -Infinity, oldest - 1);
        if (after === null || after >= target) return { locked: false, samples: 0, changes: 0, watermark, caughtUp: true };
        const upTo = Math.min(target, after + this.stepMs);
        const result = await materializeBatch(tx, after, upTo);
        const span = upTo - after;
        this.stepMs =
          result.samples === 0
            ? Math.min(this.maxStepMs, span * 4)
            : Math.max(MIN_STEP_MS, Math.min(this.maxStepMs, Math.floor((span * this.batchRows) / result.samples)));
        return { locked: false, ...result, watermark: upTo, caughtUp: upTo >= target };
      })
      .catch((err: unknown) => {
        this.trouble = { since: this.trouble?.since ?? this.now(), recovered: undefined };
        throw err;
      });
    if (cleaned !== undefined) this.cleanedFor = cleaned;
    this.note(pass, target);
    return pass;
  }

  /** Logs a backfill (a pass that starts more than a step behind) once when it starts and once when it is done. */
  private note(pass: MaterializerPass, target: number): void {
    if (pass.locked || pass.watermark === null) return;
    if (!this.backfill && !pass.caughtUp && target - pass.watermark > this.stepMs) {
      this.backfill = { started: this.now(), batches: 0, samples: 0 };
      this.log.info('materialising ignition changes from the telemetry history (catching up in the background)', {
        from: new Date(pass.watermark).toISOString(),
      });
    }
    if (!this.backfill) return;
    this.backfill.batches += 1;
    this.backfill.samples += pass.samples;
    if (pass.caughtUp) {
      this.log.info('ignition changes caught up with the telemetry history', {
        batches: this.backfill.batches,
        samples: this.backfill.samples,
        seconds: Math.round((this.now() - this.backfill.started) / 1000),
      });
      this.backfill = undefined;
    }
  }
}
