/**
 * SQL of the timeline: one statement (one snapshot) that unions a query per source over the tables the other
 * components own, each bounded by the car, the time range, the cursor and the page size, merged newest first by
 * (at, id). Read-only, like rentals' and feeds' reads of `telemetry_history` and `zones`; every column named here
 * is the owning migration's.
 *
 * Telemetry milestones never leave the database as samples: trips are the ignition changes, materialised in the
 * background (ignition-changes.repository.ts) and only the recent tail after the watermark found by a window over
 * `telemetry_history`; online/offline, low energy and zone crossings are the openings and automatic resolutions of
 * the engine's `device_offline`, `low_energy` and `zone_exit` alerts (the engine's hysteresis already applied).
 */
import type { Queryable } from '../../../platform/db/index.js';
import type { TimelineKind } from '../../../../../src/shared/timeline.js';
import type { TimelineQuery, TimelineRow } from '../model.js';
import { CARRIED_SAMPLES, IS_CHANGE, SAMPLE_COLUMNS, sequencedSamples, WATERMARK } from './ignition-changes.repository.js';

const ms = (col: string) => `floor(extract(epoch from ${col}) * 1000)::float8`;
/** $2 lower, $3 upper bound (epoch ms, inclusive) on a timestamptz column — the index does the work */
const FROM = `to_timestamp($2::float8 / 1000)`;
const inRange = (col: string) => `${col} >= ${FROM} and ${col} < to_timestamp(($3::float8 + 1) / 1000)`;
const CAR_ALLOCATIONS = `select id from allocations where vehicle_id = $1`;
const CAR_ALERTS = `select id::text from alerts where vehicle_id = $1`;
const CAR_TASKS = `select id from tasks where vehicle_id = $1`;
/** `ended_by` / `cancelled_by`: null or `customer:<id>` (or the bare id) for the customer, `system`, else a staff id */
const isCustomer = (col: string) => `(${col} is null or ${col} = 'customer:' || a.customer_id or ${col} = a.customer_id)`;
const who = (col: string) => `case when ${isCustomer(col)} then a.customer_id else ${col} end`;
const whoRole = (col: string) => `case when ${isCustomer(col)} then 'customer' when ${col} = 'system' then 'system' else 'staff' end`;
const MILESTONE_KIND = `case a.kind when 'device_offline' then 'connectivity' when 'low_energy' then 'energy' when 'zone_exit' then 'zone' else 'alert' end`;
const ALERT_DATA = `jsonb_build_object('alertId', a.id::text, 'alertKind', a.kind, 'severity', a.severity, 'details', a.details,
  'occurrences', a.occurrences, 'resolution', a.resolution, 'status', a.status)`;

/** Each source: the kinds it can yield, and its rows (id, at_ms, kind, event, actor, actor_role, customer_id, data). */
const SOURCES: ReadonlyArray<{ kinds: readonly TimelineKind[]; sql: string }> = [
  {
    // ignition changes: those up to the watermark from `ignition_changes` (counted only when the sample before the
    // change is in the range too, as a window over the range would), those after it from the samples of the recent
    // tail, compared with the car's last materialised sample; a page of the newest (+ a margin for changes at the
    // cursor's millisecond that the cursor filter drops afterwards). A trip's end carries its start (the change
    // before it) for distance and duration.
    kinds: ['trip'],
    sql: `select 'trip:' || (c.at_ms::bigint)::text || ':' || c.seq::text as id, c.at_ms, 'trip' as kind,
                 case when c.ignition then 'started' else 'ended' end as event, $1::text as actor, 'device' as actor_role,
                 null::text as customer_id,
                 jsonb_build_object('odometerKm', c.odometer_km, 'lat', c.lat, 'lon', c.lon, 'energyPct', c.energy_pct,
                   'startedAt', case when not c.ignition and c.prev_change_ignition then c.prev_change_at end,
                   'startOdometerKm', case when not c.ignition and c.prev_change_ignition then c.prev_change_odometer end) as data
            from (select ch.*, lead(ch.ignition) over w as prev_change_ignition, lead(ch.at_ms) over w as prev_change_at,
                         lead(ch.odometer_km) over w as prev_change_odometer
                    from (select u.*, ${ms('u.at')} as at_ms from (
                            (select m.at, m.seq, m.ignition, m.odometer_km, m.lat, m.lon, m.energy_pct from ignition_changes m
                              where m.vehicle_id = $1 and ${inRange('m.at')} and m.prev_at >= ${FROM} and m.at <= ${WATERMARK}
                              order by m.at desc, m.seq desc limit $6::int + 3)
                            union all
                            (select t.received_at, t.seq, t.ignition, t.odometer_km, t.lat, t.lon, t.energy_pct
                               from (${sequencedSamples(
                                 `select ${SAMPLE_COLUMNS}, false as carried from telemetry_history
                                   where vehicle_id = $1 and ${inRange('received_at')} and received_at > ${WATERMARK}
                                  union all ${CARRIED_SAMPLES} where vehicle_id = $1 and at >= ${FROM}`,
                               )}) t
                              where ${IS_CHANGE}
                              order by t.received_at desc, t.seq desc limit $6::int + 3)
                          ) u order by u.at desc, u.seq desc limit $6::int + 3) ch
                  window w as (order by ch.at_ms desc, ch.seq desc)) c`,
  },
  {
    kinds: ['device_event'],
    sql: `select 'event:' || e.seq::text || ':' || e.device_ts::text as id, ${ms('e.received_at')} as at_ms, 'device_event' as kind,
                 e.type as event, $1::text as actor, 'device' as actor_role, null::text as customer_id,
                 jsonb_build_object('lat', e.lat, 'lon', e.lon, 'data', e.data, 'deviceTs', e.device_ts) as data
            from vehicle_events e where e.vehicle_id = $1 and ${inRange('e.received_at')}`,
  },
  {
    // an alert's opening; for device_offline / low_energy / zone_exit it is the milestone itself
    kinds: ['connectivity', 'energy', 'zone', 'alert'],
    sql: `select 'alert:' || a.id::text || ':opened' as id, ${ms('a.first_seen_at')} as at_ms, ${MILESTONE_KIND} as kind,
                 'opened' as event, 'system' as actor, 'system' as actor_role, null::text as customer_id, ${ALERT_DATA} as data
            from alerts a where a.vehicle_id = $1 and ${inRange('a.first_seen_at')}`,
  },
  {
    // automatic resolutions (staff resolutions come from the audit log, with who and why)
    kinds: ['connectivity', 'energy', 'zone', 'alert'],
    sql: `select 'alert:' || a.id::text || ':resolved' as id, ${ms('a.resolved_at')} as at_ms, ${MILESTONE_KIND} as kind,
                 'resolved' as event, 'system' as actor, 'system' as actor_role, null::text as customer_id, ${ALERT_DATA} as data
            from alerts a where a.vehicle_id = $1 and a.resolved_by = 'system' and a.resolved_at is not null and ${inRange('a.resolved_at')}`,
  },
  {
    // every transition of every command; who: the issuer for `queued`, the device for its answers, the server
    // for sends and expiry, the canceller (audit) for a cancellation
    kinds: ['command'],
    sql: `select 'command:' || lpad(t.id::text, 19, '0') as id, ${ms('t.at')} as at_ms, 'command' as kind, t.to_status as event,
                 case when t.to_status = 'queued' then c.issued_by
                      when t.to_status in ('received', 'succeeded', 'failed') then c.vehicle_id
                      when t.to_status = 'cancelled' then coalesce(x.actor, 'system') else 'system' end as actor,
                 case when t.to_status = 'queued' then c.issued_by_role
                      when t.to_status in ('received', 'succeeded', 'failed') then 'device'
                      when t.to_status = 'cancelled' then coalesce(x.role, 'system') else 'system' end as actor_role,
                 null::text as customer_id,
                 jsonb_build_object('commandId', c.command_id, 'type', c.type, 'from', t.from_status, 'detail', t.detail,
                   'reason', c.reason, 'cancelReason', x.reason, 'resultReason', c.last_result_reason, 'status', c.status) as data
            from command_transitions t join commands c on c.command_id = t.command_id
            left join lateral (select al.actor, al.role, al.reason from audit_log al
                                where t.to_status = 'cancelled' and al.target_type = 'command' and al.target_id = c.command_id
                                  and al.action = 'command.cancelled' order by al.id desc limit 1) x on true
           where c.vehicle_id = $1 and ${inRange('t.at')}`,
  },
  {
    // reservations, bookings: created, cancelled, expired; rentals: started, ended
    kinds: ['rental'],
    sql: `select 'claim:' || a.id || ':' || v.event as id, v.at_ms, 'rental' as kind, a.kind || '.' || v.event as event,
                 v.actor, v.actor_role, a.customer_id,
                 jsonb_build_object('allocationId', a.id, 'allocationKind', a.kind, 'status', a.status, 'sourceId', a.source_id,
                   'startsAt', ${ms('a.starts_at')}, 'endsAt', ${ms('a.ends_at')}, 'reason', v.reason, 'totalCents', a.total_cents,
                   'currency', a.currency, 'paymentId', a.payment_id, 'unlockCommandId', a.unlock_command_id,
                   'lockCommandId', a.lock_command_id) as data
            from allocations a
            cross join lateral (values
                ('created', case when a.kind <> 'rental' then a.created_at end, a.customer_id, 'customer', null::text),
                ('started', case when a.kind = 'rental' then a.started_at end, a.customer_id, 'customer', null::text),
                ('ended', case when a.kind = 'rental' then a.ended_at end, ${who('a.ended_by')}, ${whoRole('a.ended_by')}, a.end_reason),
                ('cancelled', case when a.status = 'cancelled' then a.updated_at end, ${who('a.cancelled_by')}, ${whoRole('a.cancelled_by')},
                  a.cancel_reason),
                ('expired', case when a.status = 'expired' then a.ends_at end, 'system', 'system', null::text)
              ) as v0(event, at, actor, actor_role, reason)
            cross join lateral (select v0.event, ${ms('v0.at')} as at_ms, v0.actor, v0.actor_role, v0.reason) v
           where a.vehicle_id = $1 and v0.at is not null and ${inRange('v0.at')}`,
  },
  {
    // the payments of the car's rentals: the hold, then each capture, void and refund
    kinds: ['payment'],
    sql: `select 'payment:' || p.id || ':hold' as id, ${ms('p.created_at')} as at_ms, 'payment' as kind, 'hold' as event,
                 'system' as actor, 'system' as actor_role, p.customer_id,
                 jsonb_build_object('paymentId', p.id, 'rentalId', p.rental_id, 'status', p.status, 'amountCents', p.requested_cents,
                   'heldCents', p.held_cents, 'currency', p.currency, 'reason', p.decline_reason) as data
            from payments p where p.rental_id in (${CAR_ALLOCATIONS}) and ${inRange('p.created_at')}
          union all
          select 'payment:' || o.id as id, ${ms('o.created_at')} as at_ms, 'payment' as kind, o.kind as event, o.created_by as actor,
                 case when o.kind = 'refund' then 'staff' else 'system' end as actor_role, p.customer_id,
                 jsonb_build_object('paymentId', p.id, 'rentalId', p.rental_id, 'status', o.status, 'amountCents', o.amount_cents,
                   'currency', o.currency, 'reason', o.reason, 'lastError', o.last_error, 'completedAt', ${ms('o.completed_at')}) as data
            from payment_operations o join payments p on p.id = o.payment_id
           where o.kind in ('capture', 'void', 'refund') and p.rental_id in (${CAR_ALLOCATIONS}) and ${inRange('o.created_at')}`,
  },
  {
    // notes on the car, its alerts and its rentals (notes on customers belong to the customer, not the car)
    kinds: ['note'],
    sql: `select 'note:' || n.id as id, ${ms('n.created_at')} as at_ms, 'note' as kind, 'created' as event, n.author as actor,
                 'staff' as actor_role, null::text as customer_id,
                 jsonb_build_object('noteId', n.id, 'text', n.text, 'targetType', n.target_type, 'targetId', n.target_id) as data
            from notes n
           where ((n.target_type = 'vehicle' and n.target_id = $1) or (n.target_type = 'alert' and n.target_id in (${CAR_ALERTS}))
                  or (n.target_type = 'rental' and n.target_id in (${CAR_ALLOCATIONS}))) and ${inRange('n.created_at')}`,
  },
  {
    // staff actions on the car, its alerts, tasks and claims — except what another source already tells
    // (commands, notes, payments, the claims' own starts, ends and cancellations)
    kinds: ['alert', 'task', 'rental', 'staff'],
    sql: `select 'audit:' || lpad(l.id::text, 19, '0') as id, ${ms('l.at')} as at_ms,
                 case l.target_type when 'alert' then 'alert' when 'task' then 'task' when 'vehicle' then 'staff' else 'rental' end as kind,
                 l.action as event, l.actor, l.role as actor_role, null::text as customer_id,
                 jsonb_build_object('targetType', l.target_type, 'targetId', l.target_id, 'reason', l.reason, 'after', l.after) as data
            from audit_log l
           where ((l.target_type = 'vehicle' and l.target_id = $1)
                  or (l.target_type = 'alert' and l.target_id in (${CAR_ALERTS}))
                  or (l.target_type = 'task' and l.target_id in (${CAR_TASKS}))
                  or (l.target_type in ('rental', 'booking', 'reservation') and l.target_id in (${CAR_ALLOCATIONS})))
             and l.action not in ('rental.started', 'rental.ended', 'booking.cancelled', 'reservation.cancelled', 'rental.cancelled', 'note.created')
             and l.action not like 'payment.%'
             and ${inRange('l.at')}`,
  },
];

interface Row {
  id: string;
  at_ms: number;
  kind: TimelineKind;
  event: string;
  actor: string | null;
  actor_role: string | null;
  staff_name: string | null;
  customer_id: string | null;
  customer_name: string | null;
  data: Record<string, unknown> | string;
}

/** far enough in the future for "no upper bound" (a concrete value keeps the range predicates index-friendly) */
const MAX_MS = 8.64e15;

/** One page of the car's timeline, newest first, by (at, id); names of staff always, of customers only when asked. */
export async function readTimeline(q: Queryable, query: TimelineQuery, withCustomerNames: boolean): Promise<TimelineRow[]> {
  const sources = SOURCES.filter((s) => s.kinds.some((k) => query.kinds.includes(k)));
  if (sources.length === 0) return [];
  const upper = Math.min(query.to ?? MAX_MS, query.before?.at ?? MAX_MS);
  const branch = (sql: string) =>
    `(select * from (${sql}) s
       where s.kind = any($7::text[]) and ($5::text is null or s.at_ms < $4::float8 or (s.at_ms = $4::float8 and s.id collate "C" < $5::text))
       order by s.at_ms desc, s.id collate "C" desc limit $6)`;
  const { rows } = await q.query<Row>(
    `select u.*, st.name as staff_name, cu.name as customer_name
       from (${sources.map((s) => branch(s.sql)).join('\n union all\n')}) u
       left join staff_accounts st on st.id = u.actor
       left join customers cu on $8::boolean and cu.id = u.customer_id
      order by u.at_ms desc, u.id collate "C" desc
      limit $6`,
    [
      query.vehicleId,
      query.from ?? 0,
      upper,
      query.before?.at ?? null,
      query.before?.id ?? null,
      query.limit,
      [...query.kinds],
      withCustomerNames,
    ],
  );
  return rows.map((r) => ({
    id: r.id,
    at: Number(r.at_ms),
    kind: r.kind,
    event: r.event,
    actor: r.actor,
    actorRole: r.actor_role,
    staffName: r.staff_name,
    customerId: r.customer_id,
    customerName: r.customer_name,
    data: typeof r.data === 'string' ? (JSON.parse(r.data) as Record<string, unknown>) : r.data,
  }));
}

export async function vehicleExists(q: Queryable, vehicleId: string): Promise<boolean> {
  const { rows } = await q.query(`select 1 from vehicles where id = $1`, [vehicleId]);
  return rows.length > 0;
}
