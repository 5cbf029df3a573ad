/**
 * The evidence timeline of one car: validates the query (range, kinds, cursor), reads one page of source rows and
 * words each one as `{id, at, kind, title, detail, actor, refs}` — who did it (device, customer, staff name,
 * system) and why (reason, blocker, result reason). Customer names and ids only for roles that may see customer
 * data (`canSeeCustomerData`).
 */
import { alertDetailWords, alertEventTitle } from '../../../../../src/shared/alert-kinds.js';
import { AppError } from '../../../../../src/shared/errors.js';
import type { OperatorRole } from '../../../../../src/shared/operator-role.js';
import { canSeeCustomerData } from '../../../../../src/shared/permissions.js';
import {
  isTimelineKind,
  TIMELINE_KINDS,
  type TimelineActor,
  type TimelineEntry,
  type TimelineKind,
  type TimelinePage,
  type TimelineRefs,
} from '../../../../../src/shared/timeline.js';
import type { TimelineQuery, TimelineRow } from '../model.js';

export interface TimelineReads {
  readTimeline(query: TimelineQuery, withCustomerNames: boolean): Promise<TimelineRow[]>;
  vehicleExists(vehicleId: string): Promise<boolean>;
}

export interface TimelineRequest {
  vehicleId: string;
  from?: string;
  to?: string;
  kinds?: string;
  limit: number;
  before?: string;
}

const bad = (code: string, message: string) => new AppError(code, message, { status: 400 });

/** epoch ms or an ISO 8601 date-time */
function parseInstant(value: string, name: string): number {
  const n = /^\d{1,16}$/.test(value) ? Number(value) : /^\d{4}-\d{2}-\d{2}T/.test(value) ? Date.parse(value) : NaN;
  if (!Number.isFinite(n)) throw bad('invalid_range', `${name} must be epoch milliseconds or an ISO 8601 date-time`);
  return n;
}

function parseKinds(value: string | undefined): TimelineKind[] {
  if (value === undefined || value.trim() === '') return [...TIMELINE_KINDS];
  const kinds = value.split(',').map((k) => k.trim());
  const unknown = kinds.filter((k) => !isTimelineKind(k));
  if (unknown.length > 0) throw bad('invalid_kinds', `unknown kinds: ${unknown.join(', ')}; known: ${TIMELINE_KINDS.join(', ')}`);
  return [...new Set(kinds as TimelineKind[])];
}

/** The cursor is the last entry of a page, (at, id), base64url JSON: opaque to clients. */
export function encodeCursor(entry: { at: number; id: string }): string {
  return Buffer.from(JSON.stringify([entry.at, entry.id])).toString('base64url');
}

export function decodeCursor(cursor: string): { at: number; id: string } {
  try {
    const parsed: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (Array.isArray(parsed) && parsed.length === 2 && Number.isSafeInteger(parsed[0]) && typeof parsed[1] === 'string' && parsed[1]) {
      return { at: parsed[0] as number, id: parsed[1] };
    }
  } catch {
    // fall through
  }
  throw bad('invalid_cursor', '`before` is not a cursor this route returned');
}

export class TimelineService {
  constructor(private readonly reads: TimelineReads) {}

  async page(request: TimelineRequest, role: OperatorRole): Promise<TimelinePage> {
    const from = request.from === undefined ? null : parseInstant(request.from, 'from');
    const to = request.to === undefined ? null : parseInstant(request.to, 'to');
    if (from !== null && to !== null && from > to) throw bad('invalid_range', '`from` is after `to`');
    const query: TimelineQuery = {
      vehicleId: request.vehicleId,
      from,
      to,
      kinds: parseKinds(request.kinds),
      limit: request.limit,
      before: request.before === undefined ? null : decodeCursor(request.before),
    };
    if (!(await this.reads.vehicleExists(request.vehicleId)))
      throw new AppError('vehicle_not_found', `No vehicle ${request.vehicleId}`, { status: 404 });
    const customers = canSeeCustomerData(role);
    const rows = await this.reads.readTimeline(query, customers);
    const entries = rows.map((r) => wordEntry(r, customers));
    const last = entries.at(-1);
    return { vehicleId: request.vehicleId, entries, nextCursor: entries.length === query.limit && last ? encodeCursor(last) : null };
  }
}

const str = (v: unknown): string | null => (typeof v === 'string' && v !== '' ? v : null);
const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);
const money = (cents: unknown, currency: unknown) => {
  const c = num(cents);
  return c === null ? null : `${(c / 100).toFixed(2)} ${str(currency) ?? ''}`.trim();
};
const join = (...parts: Array<string | null | undefined | false>) => parts.filter((p): p is string => !!p).join(' · ') || null;
const minutes = (ms: number) => (ms < 60_000 ? `${Math.round(ms / 1000)} s` : `${Math.round(ms / 60_000)} min`);
const humanize = (s: string) => s.replace(/_/g, ' ');

function actorOf(r: TimelineRow, customers: boolean): TimelineActor {
  switch (r.actorRole) {
    case 'device':
      return { type: 'device', id: r.actor, name: null };
    case 'customer':
      return customers ? { type: 'customer', id: r.actor, name: r.customerName } : { type: 'customer', id: null, name: null };
    case 'system':
    case null:
      return { type: 'system', id: null, name: null };
    default:
      // staff roles (dispatcher, support, admin, or `staff` where the source does not keep the role)
      return r.actor === 'system' ? { type: 'system', id: null, name: null } : { type: 'staff', id: r.actor, name: r.staffName };
  }
}

/** the lifecycle's audit actions (`alert.acknowledge`) as past tense */
const ALERT_ACTIONS: Record<string, string> = { acknowledge: 'acknowledged', assign: 'assigned', resolve: 'resolved' };

const CLAIM_REF: Record<string, keyof TimelineRefs> = { rental: 'rentalId', booking: 'bookingId', reservation: 'reservationId' };

/** A source row as the desk shows it. */
export function wordEntry(r: TimelineRow, customers: boolean): TimelineEntry {
  const d = r.data;
  const refs: TimelineRefs = {};
  let title: string;
  let detail: string | null = null;
  switch (r.kind) {
    case 'trip': {
      const odo = num(d.odometerKm);
      if (r.event === 'started') {
        title = 'Trip started (ignition on)';
        detail = join(
          odo !== null && `odometer ${odo.toFixed(1)} km`,
          num(d.energyPct) !== null && `energy ${Math.round(num(d.energyPct)!)} %`,
        );
      } else {
        title = 'Trip ended (ignition off)';
        const startOdo = num(d.startOdometerKm);
        const startedAt = num(d.startedAt);
        detail = join(
          odo !== null && startOdo !== null && `${(odo - startOdo).toFixed(1)} km`,
          startedAt !== null && `${minutes(r.at - startedAt)}`,
          odo !== null && `odometer ${odo.toFixed(1)} km`,
        );
      }
      break;
    }
    case 'device_event':
      title = `Device event: ${humanize(r.event)}`;
      detail = d.data && typeof d.data === 'object' && Object.keys(d.data).length > 0 ? JSON.stringify(d.data) : null;
      break;
    case 'connectivity':
    case 'energy':
    case 'zone':
    case 'alert': {
      refs.alertId = str(d.alertId) ?? str(d.targetId) ?? undefined;
      const alertKind = str(d.alertKind);
      if (r.event === 'opened' || r.event === 'resolved') {
        title = alertEventTitle(alertKind ?? 'alert', r.event, str(d.severity));
        detail =
          r.event === 'opened'
            ? join(alertDetailWords(d.details), num(d.occurrences)! > 1 && `${num(d.occurrences)} occurrences`)
            : str(d.resolution);
      } else {
        // staff lifecycle from the audit log: alert.acknowledged / assigned / resolved
        const after = (d.after ?? {}) as Record<string, unknown>;
        const verb = r.event.replace(/^alert\./, '');
        const action = ALERT_ACTIONS[verb] ?? verb;
        title = `Alert ${humanize(action)}${str(after.kind) ? `: ${humanize(str(after.kind)!)}` : ''}`;
        detail = join(
          action === 'assigned' && (str(after.assignee) ? `to ${str(after.assignee)}` : 'unassigned'),
          str(d.reason),
          action === 'resolved' && str(after.resolution),
        );
      }
      break;
    }
    case 'command': {
      refs.commandId = str(d.commandId) ?? undefined;
      const type = str(d.type) ?? 'command';
      title = r.event === 'queued' ? `Command ${type} issued` : `Command ${type} ${r.event}`;
      detail =
        r.event === 'queued'
          ? str(d.reason)
          : r.event === 'cancelled'
            ? (str(d.cancelReason) ?? str(d.detail))
            : r.event === 'failed' || r.event === 'succeeded'
              ? join(str(d.detail), r.event === 'failed' && str(d.resultReason) !== str(d.detail) && str(d.resultReason))
              : str(d.detail);
      break;
    }
    case 'rental': {
      if (r.event.includes('.') && d.allocationKind === undefined) {
        // audit entries on a claim (extended, ended despite blockers, …)
        const [kind = 'rental', action = r.event] = r.event.split('.');
        const key = CLAIM_REF[kind];
        if (key) refs[key] = str(d.targetId) ?? undefined;
        title = `${capitalize(kind)} ${humanize(action)}`;
        detail = str(d.reason);
      } else {
        const kind = str(d.allocationKind) ?? 'rental';
        const action = r.event.split('.')[1] ?? r.event;
        const key = CLAIM_REF[kind];
        if (key) refs[key] = str(d.allocationId) ?? undefined;
        if (kind === 'rental' && str(d.sourceId)) refs.reservationId = str(d.sourceId)!;
        if (str(d.paymentId)) refs.paymentId = str(d.paymentId)!;
        if (customers && r.customerId) refs.customerId = r.customerId;
        title = `${capitalize(kind)} ${action}`;
        const period =
          kind !== 'rental' && action === 'created' && num(d.startsAt) !== null && num(d.endsAt) !== null
            ? `${new Date(num(d.startsAt)!).toISOString()} → ${new Date(num(d.endsAt)!).toISOString()}`
            : null;
        detail = join(
          period,
          str(d.reason),
          action === 'ended' && money(d.totalCents, d.currency) && `total ${money(d.totalCents, d.currency)}`,
        );
      }
      break;
    }
    case 'payment': {
      refs.paymentId = str(d.paymentId) ?? undefined;
      refs.rentalId = str(d.rentalId) ?? undefined;
      if (customers && r.customerId) refs.customerId = r.customerId;
      const amount = money(d.amountCents, d.currency);
      const status = str(d.status);
      const label = { hold: 'Payment hold', capture: 'Payment capture', void: 'Payment hold voided', refund: 'Refund' }[r.event] ?? r.event;
      if (r.event === 'hold') {
        title = `${label} ${amount ?? ''}`.trim();
        detail = join(status === 'declined' ? 'declined' : status && `payment now ${humanize(status)}`, str(d.reason));
      } else {
        title = `${label} ${amount ?? ''} (${status ?? 'unknown'})`.replace(/\s+/g, ' ');
        detail = join(str(d.reason), str(d.lastError) && `last error: ${str(d.lastError)}`);
      }
      break;
    }
    case 'task': {
      refs.taskId = str(d.targetId) ?? undefined;
      const after = (d.after ?? {}) as Record<string, unknown>;
      const action = r.event.replace(/^task\./, '');
      title = `Task ${humanize(action)}${str(after.kind) ? `: ${str(after.kind)}` : ''}`;
      detail = join(str(after.note), str(after.assignee) && `assignee ${str(after.assignee)}`, str(d.reason));
      if (str(after.alertId)) refs.alertId = str(after.alertId)!;
      break;
    }
    case 'note': {
      refs.noteId = str(d.noteId) ?? undefined;
      const target = str(d.targetType);
      if (target === 'alert') refs.alertId = str(d.targetId) ?? undefined;
      if (target === 'rental') refs.rentalId = str(d.targetId) ?? undefined;
      title = target === 'vehicle' ? 'Note' : `Note on the ${target}`;
      detail = str(d.text);
      break;
    }
    case 'staff': {
      title = humanize(r.event.replace(/^vehicle\./, 'vehicle '));
      title = capitalize(title);
      const after = d.after && typeof d.after === 'object' ? JSON.stringify(d.after) : null;
      detail = join(str(d.reason), after);
      break;
    }
  }
  if (!customers && detail) detail = detail.replace(CUSTOMER_ID_IN_TEXT, 'customer');
  return { id: r.id, at: r.at, kind: r.kind, title, detail, actor: actorOf(r, customers), refs: dropUndefined(refs) };
}

/** reasons written by the server name customers by id (`customer <id>`, `customer:<id>`): not for dispatchers */
const CUSTOMER_ID_IN_TEXT = /customer[: ][A-Za-z0-9_-]{6,}/g;
/** what the engine keeps in an alert's details that explains nothing to a person */

const capitalize = (s: string) => (s ? s[0]!.toUpperCase() + s.slice(1) : s);

function dropUndefined(refs: TimelineRefs): TimelineRefs {
  return Object.fromEntries(Object.entries(refs).filter(([, v]) => v !== undefined)) as TimelineRefs;
}
