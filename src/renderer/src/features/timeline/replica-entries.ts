/**
 * The timeline the desk can still show offline: entries made from what the local replica holds for the car
 * (commands at their current status, alerts opened / resolved, tasks, notes, its reservations, bookings and
 * rentals), in the server's entry shape, newest first. What only the server knows (trips, online/offline changes,
 * device events, each command transition, payments, the audit log) is listed in REPLICA_CANNOT_SHOW.
 */
import { alertEventTitle, isMilestoneAlert } from '../../../../shared/alert-kinds.js';
import type { AlertDoc, CommandDoc, NoteDoc, RentalDoc, TaskDoc } from '../../../../shared/sync-protocol.js';
import type { TimelineEntry, TimelineKind } from '../../../../shared/timeline.js';

export const REPLICA_CANNOT_SHOW = 'trips, online/offline changes, device events, every command transition, payments and staff audit';

export interface ReplicaDocs {
  commands: readonly CommandDoc[];
  alerts: readonly AlertDoc[];
  tasks: readonly TaskDoc[];
  notes: readonly NoteDoc[];
  rentals: readonly RentalDoc[];
}

const SYSTEM = { type: 'system' as const, id: null, name: null };
const staff = (id: string) => ({ type: 'staff' as const, id, name: null });
const MILESTONE: Record<string, TimelineKind> = { device_offline: 'connectivity', low_energy: 'energy', zone_exit: 'zone' };

export function replicaEntries(docs: ReplicaDocs, withCustomers: boolean): TimelineEntry[] {
  const out: TimelineEntry[] = [];
  for (const c of docs.commands) {
    out.push({
      id: `replica:command:${c.id}`,
      at: c.createdAt,
      kind: 'command',
      title: `Command ${c.type} issued — now ${c.status}`,
      detail: [c.reason, c.lastResultReason].filter(Boolean).join(' · ') || null,
      actor: c.issuedBy === 'system' ? SYSTEM : staff(c.issuedBy),
      refs: { commandId: c.id },
    });
  }
  for (const a of docs.alerts) {
    const kind = MILESTONE[a.kind] ?? 'alert';
    out.push({
      id: `replica:alert:${a.id}:opened`,
      at: a.openedAt,
      kind,
      title: alertEventTitle(a.kind, 'opened', a.severity),
      detail: a.occurrences > 1 ? `${a.occurrences} occurrences` : null,
      actor: SYSTEM,
      refs: { alertId: a.id },
    });
    if (a.acknowledgedAt !== null && a.acknowledgedBy)
      out.push({
        id: `replica:alert:${a.id}:acknowledged`,
        at: a.acknowledgedAt,
        kind: 'alert',
        title: 'Alert acknowledged',
        detail: null,
        actor: staff(a.acknowledgedBy),
        refs: { alertId: a.id },
      });
    if (a.resolvedAt !== null)
      out.push({
        id: `replica:alert:${a.id}:resolved`,
        at: a.resolvedAt,
        kind: a.resolvedBy === 'system' ? kind : 'alert',
        title: isMilestoneAlert(a.kind) && a.resolvedBy === 'system' ? alertEventTitle(a.kind, 'resolved') : 'Alert resolved',
        detail: a.resolution,
        actor: !a.resolvedBy || a.resolvedBy === 'system' ? SYSTEM : staff(a.resolvedBy),
        refs: { alertId: a.id },
      });
  }
  for (const t of docs.tasks) {
    out.push({
      id: `replica:task:${t.id}`,
      at: t.createdAt,
      kind: 'task',
      title: `Task created: ${t.kind} — now ${t.status}`,
      detail: [t.note, t.assignee && `assignee ${t.assignee}`].filter(Boolean).join(' · ') || null,
      actor: staff(t.createdBy),
      refs: { taskId: t.id, ...(t.alertId ? { alertId: t.alertId } : {}) },
    });
  }
  for (const n of docs.notes) {
    out.push({
      id: `replica:note:${n.id}`,
      at: n.createdAt,
      kind: 'note',
      title: n.targetType === 'vehicle' ? 'Note' : `Note on the ${n.targetType}`,
      detail: n.text,
      actor: staff(n.author),
      refs: { noteId: n.id },
    });
  }
  for (const r of docs.rentals) {
    const ref = r.kind === 'rental' ? { rentalId: r.id } : r.kind === 'booking' ? { bookingId: r.id } : { reservationId: r.id };
    const refs = { ...ref, ...(withCustomers ? { customerId: r.customerId } : {}) };
    const customer = { type: 'customer' as const, id: withCustomers ? r.customerId : null, name: null };
    const label = r.kind[0]!.toUpperCase() + r.kind.slice(1);
    if (r.kind === 'rental') {
      if (r.startedAt !== null)
        out.push({
          id: `replica:claim:${r.id}:started`,
          at: r.startedAt,
          kind: 'rental',
          title: `${label} started`,
          detail: null,
          actor: customer,
          refs,
        });
      if (r.endedAt !== null)
        out.push({
          id: `replica:claim:${r.id}:ended`,
          at: r.endedAt,
          kind: 'rental',
          title: `${label} ended`,
          detail: null,
          actor: customer,
          refs,
        });
    } else {
      out.push({
        id: `replica:claim:${r.id}:created`,
        at: r.startsAt,
        kind: 'rental',
        title: `${label} — now ${r.status}`,
        detail: r.cancelReason,
        actor: customer,
        refs,
      });
    }
  }
  return out.sort((a, b) => b.at - a.at || (a.id < b.id ? 1 : -1));
}
