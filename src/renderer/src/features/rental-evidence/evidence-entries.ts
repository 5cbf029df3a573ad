/**
 * A rental's evidence as one ordered timeline: where it came from (reservation or booking), the start, the payment
 * hold, the unlock command, the trip, ends refused by their blockers, the end (who, why, which blockers were
 * overridden, the price lines), the lock
 * command, capture and refunds, damage reports, notes and every staff action. Built from the staff API's answer
 * when the server answers, else from what the replica holds (`facts` either way). Pure: the view renders it.
 */
import type { CommandDoc, NoteDoc, RentalDoc, RentalPrice } from '../../../../shared/sync-protocol.js';
import type {
  ApiCommand,
  AuditEntry,
  DamageReport,
  EndAttempt,
  PaymentOperation,
  StartAttempt,
  RentalEvidenceDetail,
} from './evidence-types';

/** A rental as both sources can tell it (epoch ms times). */
export interface RentalFacts {
  id: string;
  status: string;
  vehicleId: string;
  customerId: string;
  sourceId: string | null;
  startedAt: number | null;
  endedAt: number | null;
  returnBy: number | null;
  price: RentalPrice | null;
  totalCents: number | null;
  currency: string | null;
  unlockCommandId: string | null;
  lockCommandId: string | null;
  endedBy: string | null;
  endReason: string | null;
}

const ms = (iso: string | null | undefined): number | null => (iso ? Date.parse(iso) : null);

export function factsFromDetail(d: RentalEvidenceDetail): RentalFacts {
  const x = d.rental;
  return {
    id: x.rentalId,
    status: x.status,
    vehicleId: x.vehicleId,
    customerId: x.customerId,
    sourceId: x.source?.id ?? null,
    startedAt: ms(x.startedAt),
    endedAt: ms(x.endedAt),
    returnBy: ms(x.returnBy),
    price: d.price,
    totalCents: x.totalCents,
    currency: x.currency,
    unlockCommandId: x.unlockCommandId,
    lockCommandId: x.lockCommandId,
    endedBy: x.endedBy,
    endReason: x.endReason,
  };
}

export function factsFromDoc(x: RentalDoc): RentalFacts {
  return {
    id: x.id,
    status: x.status,
    vehicleId: x.vehicleId,
    customerId: x.customerId,
    sourceId: x.sourceId,
    startedAt: x.startedAt,
    endedAt: x.endedAt,
    returnBy: x.returnBy,
    price: x.price,
    totalCents: x.totalCents,
    currency: x.currency,
    unlockCommandId: x.unlockCommandId,
    lockCommandId: x.lockCommandId,
    endedBy: x.endedBy,
    endReason: x.endReason,
  };
}

/** A staff API command in the replica's shape (the desk's command widgets read that one). */
export function commandDocOf(c: ApiCommand, vehicleId: string): CommandDoc {
  return {
    id: c.commandId,
    vehicleId: c.vehicleId ?? vehicleId,
    type: c.type,
    status: c.status,
    reason: c.reason,
    issuedBy: c.issuedBy,
    createdAt: c.createdAt,
    expiresAt: c.expiresAt ?? c.createdAt,
    finishedAt: c.finishedAt,
    lastResultReason: c.lastResultReason,
    transitions: c.transitions.map((t) => ({ to: t.to, at: t.at, detail: t.detail, by: t.by ?? null })),
  } as CommandDoc;
}

export type EvidenceEntry =
  | { kind: 'source'; key: string; at: number; source: RentalDoc }
  | { kind: 'start'; key: string; at: number }
  | { kind: 'payment'; key: string; at: number; operation: PaymentOperation }
  | { kind: 'command'; key: string; at: number; role: 'unlock' | 'lock'; command: CommandDoc }
  | { kind: 'trip'; key: string; at: number; from: number; to: number | null }
  | { kind: 'start-failed'; key: string; at: number; attempt: StartAttempt }
  | { kind: 'end-refused'; key: string; at: number; attempt: EndAttempt }
  | { kind: 'end'; key: string; at: number; overridden: string[] }
  | { kind: 'damage'; key: string; at: number; report: DamageReport }
  | { kind: 'note'; key: string; at: number; note: NoteDoc }
  | { kind: 'staff'; key: string; at: number; audit: AuditEntry };

export interface EvidenceInput {
  facts: RentalFacts;
  /** the reservation or booking it started from (replica) */
  source?: RentalDoc;
  /** unlock and lock, from the server's answer or the replica */
  commands: CommandDoc[];
  operations: PaymentOperation[];
  damageReports: DamageReport[];
  notes: NoteDoc[];
  audit: AuditEntry[];
  /** ends refused by their blockers */
  endAttempts: EndAttempt[];
  /** starts of the reservation or booking that failed before */
  startAttempts?: StartAttempt[];
}

/** Within one instant: the order things happen in a rental. */
const ORDER: Record<EvidenceEntry['kind'], number> = {
  source: 0,
  'start-failed': 1,
  start: 1,
  payment: 2,
  command: 3,
  trip: 4,
  'end-refused': 5,
  end: 5,
  staff: 6,
  damage: 7,
  note: 8,
};

/** The blocker codes an override entry lists (`after.overriddenBlockers`), or none. */
export function overriddenBlockers(audit: readonly AuditEntry[]): string[] {
  const override = audit.find((a) => a.action === 'rental.ended_override');
  const after = override?.after as { overriddenBlockers?: unknown } | null | undefined;
  return Array.isArray(after?.overriddenBlockers) ? after.overriddenBlockers.filter((c): c is string => typeof c === 'string') : [];
}

export function evidenceEntries(x: EvidenceInput): EvidenceEntry[] {
  const f = x.facts;
  const out: EvidenceEntry[] = [];
  if (x.source) out.push({ kind: 'source', key: `source-${x.source.id}`, at: x.source.createdAt, source: x.source });
  if (f.startedAt !== null) {
    out.push({ kind: 'start', key: 'start', at: f.startedAt });
    out.push({ kind: 'trip', key: 'trip', at: f.startedAt, from: f.startedAt, to: f.endedAt });
  }
  for (const op of x.operations) out.push({ kind: 'payment', key: `op-${op.operationId}`, at: Date.parse(op.createdAt), operation: op });
  for (const c of x.commands) {
    const role = c.id === f.lockCommandId ? 'lock' : 'unlock';
    out.push({ kind: 'command', key: `cmd-${c.id}`, at: c.createdAt, role, command: c });
  }
  for (const attempt of x.startAttempts ?? [])
    out.push({ kind: 'start-failed', key: `start-failed-${attempt.attemptId}`, at: attempt.at, attempt });
  x.endAttempts.forEach((attempt, i) => out.push({ kind: 'end-refused', key: `end-refused-${i}`, at: attempt.at, attempt }));
  if (f.endedAt !== null) out.push({ kind: 'end', key: 'end', at: f.endedAt, overridden: overriddenBlockers(x.audit) });
  for (const r of x.damageReports) out.push({ kind: 'damage', key: `damage-${r.reportId}`, at: Date.parse(r.createdAt), report: r });
  for (const n of x.notes) out.push({ kind: 'note', key: `note-${n.id}`, at: n.createdAt, note: n });
  // staff actions (the customer's own end is the end entry already)
  for (const a of x.audit) if (a.role !== 'customer') out.push({ kind: 'staff', key: `audit-${a.id}`, at: a.at, audit: a });
  return out.sort((a, b) => a.at - b.at || ORDER[a.kind] - ORDER[b.kind]);
}

const BLOCKER_WORDS: Record<string, string> = {
  no_fresh_telemetry: 'no fresh telemetry',
  outside_operating_zone: 'outside the operating zone',
  doors_open: 'a door open',
  ignition_on: 'ignition on',
  vehicle_moving: 'the car moving',
};
export const blockerWords = (code: string): string => BLOCKER_WORDS[code] ?? code.replace(/_/g, ' ');

const ACTION_WORDS: Record<string, string> = {
  'rental.ended': 'ended the rental',
  'rental.ended_override': 'ended the rental despite its blockers',
  'payment.refund_requested': 'asked for a refund',
};
/** An audit action as a sentence's verb: "ended the rental", else the code in words. */
export const actionWords = (action: string): string => ACTION_WORDS[action] ?? action.replace(/[._]/g, ' ');

const OPERATION_WORDS: Record<PaymentOperation['kind'], string> = {
  authorize: 'Payment hold',
  capture: 'Capture',
  void: 'Hold released',
  refund: 'Refund',
};
/** "Refund … pending" → "refunded": a payment operation's state in words. */
export function operationWords(op: Pick<PaymentOperation, 'kind' | 'status'>): { title: string; state: string } {
  const title = OPERATION_WORDS[op.kind] ?? op.kind;
  if (op.status === 'succeeded') {
    const done = { authorize: 'held', capture: 'captured', void: 'released', refund: 'refunded' }[op.kind] ?? 'done';
    return { title, state: done };
  }
  if (op.status === 'failed') return { title, state: 'failed' };
  return { title, state: op.status === 'in_flight' ? 'pending (with the provider)' : 'pending' };
}
