/**
 * SQL of the materialised ignition changes (migration 026): a car's ignition changes — the timeline's trips — found
 * by one window over its samples in (received_at, seq) order, in batches of `telemetry_history` past a watermark,
 * kept in `ignition_changes`. The same window (`ignitionChangesAmong`) finds the changes of the recent tail after
 * the watermark at read time (timeline.repository.ts), so both halves of a read follow one rule.
 *
 * `telemetry_history` is read only by received_at ranges (its daily partitions are pruned to the batch's), never
 * written; nothing here runs on the ingestion path.
 */
import type { Queryable } from '../../../platform/db/index.js';

/** The sample columns both halves read: the car, the sample's order, and what an ignition change reports. */
export const SAMPLE_COLUMNS = 'vehicle_id, received_at, seq, ignition, odometer_km, lat, lon, energy_pct';

/**
 * A car's last materialised sample as a row of `samples` (the one the next sample is compared with); `carried`
 * marks it, it is never a change itself.
 */
export const CARRIED_SAMPLES = `select vehicle_id, at, seq, ignition, 0::float8, 0::float8, 0::float8, 0::float8, true as carried
  from ignition_change_cursors`;

/**
 * The ignition changes among `samples` (SAMPLE_COLUMNS + `carried`): each sample whose ignition differs from its
 * car's sample before it in (received_at, seq) order, with `prev_at` (that sample's time) and `is_last` (the car's
 * last sample in `samples`). The first sample of a car (nothing before it) is no change.
 */
export const sequencedSamples = (samples: string) => `
  select s.*, lag(s.ignition) over w as prev_ignition, lag(s.received_at) over w as prev_at, lead(s.seq) over w is null as is_last
    from (${samples}) s window w as (partition by s.vehicle_id order by s.received_at, s.seq)`;
export const IS_CHANGE = `not carried and prev_ignition is not null and prev_ignition <> ignition`;

/** Everything with received_at at or before this is materialised ('-infinity' before the first batch). */
export const WATERMARK = `(select coalesce(max(watermark), '-infinity'::timestamptz) from ignition_change_progress)`;

/** Transaction-scoped advisory lock: one materializer batch at a time across every instance on the database. */
const MATERIALIZER_LOCK_KEY = 7_346_150_026;

export interface BatchResult {
  /** history samples read */
  samples: number;
  /** ignition changes found */
  changes: number;
}

/**
 * Inside a transaction: takes the materializer's lock without waiting; false when another instance holds it.
 */
export async function tryLockMaterializer(tx: Queryable): Promise<boolean> {
  const { rows } = await tx.query<{ locked: boolean }>('select pg_try_advisory_xact_lock($1::bigint) as locked', [MATERIALIZER_LOCK_KEY]);
  return rows[0]?.locked === true;
}

/** The watermark (epoch ms), or null before the first batch. */
export async function readWatermark(q: Queryable): Promise<number | null> {
  const { rows } = await q.query<{ ms: number | null }>(
    `select floor(extract(epoch from watermark) * 1000)::float8 as ms from ignition_change_progress`,
  );
  return rows[0]?.ms === undefined || rows[0].ms === null ? null : Number(rows[0].ms);
}

/**
 * Start (epoch ms, UTC) of the oldest telemetry history day partition, or null when there is none. Read from the
 * catalogue (the partitions are `telemetry_history_pYYYYMMDD`): the history's own index leads with the car.
 */
export async function oldestHistoryDay(q: Queryable): Promise<number | null> {
  const { rows } = await q.query<{ ms: number | null }>(
    `select extract(epoch from to_date(min(substring(c.relname from '^telemetry_history_p(\\d{8})$')), 'YYYYMMDD')::timestamp) * 1000 as ms
       from pg_inherits i join pg_class c on c.oid = i.inhrelid where i.inhparent = 'telemetry_history'::regclass`,
  );
  return rows[0]?.ms === undefined || rows[0].ms === null ? null : Number(rows[0].ms);
}

/**
 * Materialises the samples with received_at in (`afterMs`, `upToMs`]: their ignition changes (each compared with its
 * car's sample before, carried from the last batch), each car's new last sample, and the watermark `upToMs` — one
 * transaction with the caller's lock, so a read sees the changes, the cursors and the watermark together.
 */
export async function materializeBatch(tx: Queryable, afterMs: number, upToMs: number): Promise<BatchResult> {
  const after = new Date(afterMs).toISOString();
  const upTo = new Date(upToMs).toISOString();
  const { rows } = await tx.query<{ samples: number; changes: number }>(
    `with batch as (
       select ${SAMPLE_COLUMNS}, false as carried from telemetry_history
        where received_at > $1::timestamptz and received_at <= $2::timestamptz
     ),
     sequenced as (${sequencedSamples(`select * from batch union all ${CARRIED_SAMPLES} where vehicle_id in (select vehicle_id from batch)`)}),
     inserted as (
       insert into ignition_changes (vehicle_id, at, seq, prev_at, ignition, odometer_km, lat, lon, energy_pct)
       select vehicle_id, received_at, seq, prev_at, ignition, odometer_km, lat, lon, energy_pct from sequenced where ${IS_CHANGE}
       on conflict do nothing
       returning 1
     ),
     moved as (
       insert into ignition_change_cursors (vehicle_id, at, seq, ignition)
       select vehicle_id, received_at, seq, ignition from sequenced where is_last and not carried
       on conflict (vehicle_id) do update set at = excluded.at, seq = excluded.seq, ignition = excluded.ignition
       returning 1
     )
     select (select count(*) from batch)::int as samples, (select count(*) from inserted)::int as changes,
            (select count(*) from moved)::int as cursors`,
    [after, upTo],
  );
  await tx.query(
    `insert into ignition_change_progress (singleton, watermark) values (true, $1::timestamptz)
     on conflict (singleton) do update set watermark = excluded.watermark, updated_at = now()`,
    [upTo],
  );
  return { samples: Number(rows[0]?.samples ?? 0), changes: Number(rows[0]?.changes ?? 0) };
}

/**
 * After retention dropped history before `dayMs`: forgets the changes whose previous sample is gone and the cars'
 * last samples from before it — a read of what is left compares a car's oldest sample with nothing, as the
 * window over the history does.
 */
export async function forgetBefore(tx: Queryable, dayMs: number): Promise<number> {
  const day = new Date(dayMs).toISOString();
  const changes = await tx.query(`delete from ignition_changes where prev_at < $1::timestamptz`, [day]);
  await tx.query(`delete from ignition_change_cursors where at < $1::timestamptz`, [day]);
  return changes.rowCount;
}
