/**
 * A replicated command in plain words, for the vehicle detail and the fleet-wide Commands view: what happened
 * ("lock failed: ignition on"), who issued it (a staff name, never an id), each step with its time and reason,
 * and the order the Commands view lists them in (failed and expired first, then newest).
 */
import { readCommandReason } from '../../../../shared/command-reasons.js';
import { CUSTOMER_ACTOR_PREFIX } from '../../../../shared/permissions.js';
import type { CommandDoc, CommandTransition } from '../../../../shared/sync-protocol.js';

export const COMMAND_STATUSES = ['queued', 'sent', 'received', 'succeeded', 'failed', 'expired', 'cancelled'] as const;
/** Statuses a staff member may still cancel (the server's rule: queued or sent). */
export const CANCELLABLE = new Set<string>(['queued', 'sent']);
/** What a dispatcher must look at: the commands that did not do what was asked. */
export const TROUBLE = new Set<string>(['failed', 'expired']);

const TYPE_WORDS: Record<string, string> = { honk_flash: 'honk & flash' };
export const typeWords = (type: string): string => TYPE_WORDS[type] ?? type.replace(/_/g, ' ');

/** A device's or the server's reason in words: codes such as `ignition_on` → "ignition on"; other text is kept. */
export const reasonWords = (reason: string): string => reason.replace(/\b[a-z0-9]+(?:_[a-z0-9]+)+\b/g, (code) => code.replace(/_/g, ' '));

const STATUS_WORDS: Record<string, string> = {
  queued: 'waiting to be sent',
  sent: 'sent, not yet acknowledged',
  received: 'acknowledged by the car',
  succeeded: 'succeeded',
  failed: 'failed',
  expired: 'expired',
  cancelled: 'cancelled',
};

/** A type, a status and a reason in one line (the desk's one wording of a command's outcome, wherever it shows). */
export function outcomeWords(type: string, status: string, reason?: string | null): string {
  return `${typeWords(type)} ${STATUS_WORDS[status] ?? status.replace(/_/g, ' ')}${reason ? `: ${reasonWords(reason)}` : ''}`;
}

/** The outcome in one line: "lock failed: ignition on", "unlock succeeded", "locate sent, not yet acknowledged". */
export function commandOutcome(
  c: Pick<CommandDoc, 'type' | 'status' | 'createdAt' | 'finishedAt' | 'lastResultReason' | 'transitions'>,
): string {
  const why = c.status === 'cancelled' ? stepsOf(c).find((t) => t.to === 'cancelled')?.detail : c.lastResultReason;
  return outcomeWords(c.type, c.status, c.status === 'failed' || c.status === 'expired' || c.status === 'cancelled' ? why : null);
}

/** Names the desk may show: colleagues always; customers only for roles with customer data (else undefined). */
export interface NameLookup {
  staff?: (id: string) => string;
  customer?: (id: string) => string | undefined;
}

/**
 * Who issued it: the staff name, "system" for the server's own, the customer's name (roles with customer data,
 * once the replica holds the customer) or "a customer" for one issued on a customer's behalf.
 */
export function issuerWords(c: Pick<CommandDoc, 'issuedBy' | 'issuedByName'>, names: NameLookup = {}): string {
  if (c.issuedByName) return c.issuedByName;
  if (c.issuedBy === 'system') return 'system';
  if (c.issuedBy.startsWith(CUSTOMER_ACTOR_PREFIX)) return names.customer?.(c.issuedBy.slice(CUSTOMER_ACTOR_PREFIX.length)) ?? 'a customer';
  if (c.issuedBy === 'customer') return 'a customer';
  return c.issuedBy;
}

/**
 * Why it was issued, in words: the server's own reasons for a rental's commands read back (src/shared/
 * command-reasons.ts) — "to start a rental (booked)", "to end a rental, ended by Ana Lopez" — without ids; a
 * person's reason as they wrote it.
 */
export function whyWords(reason: string, names: NameLookup = {}): string {
  const r = readCommandReason(reason);
  switch (r.kind) {
    case 'rental_start': {
      const who = r.customerId ? names.customer?.(r.customerId) : undefined;
      return `to start a rental (${r.source === 'booking' ? 'booked' : 'reserved'}${who ? ` by ${who}` : ''})`;
    }
    case 'rental_start_failed':
      return 'a rental start that failed';
    case 'rental_start_gave_up':
      return `rental start given up: no answer from the car within ${Math.round(r.afterMs / 1000)} s`;
    case 'rental_relock':
      return `lock again: the rental did not start (${reasonWords(r.why)})`;
    case 'rental_end':
      return `to end a rental${r.staffId ? `, ended by ${names.staff?.(r.staffId) ?? r.staffId}` : ''}`;
    case 'text':
      return r.text;
  }
}

/**
 * The command's steps. A document pulled before transitions were replicated (schema v0) has none: its steps are
 * rebuilt from what it does hold (issued, and its end), so nothing shows an empty history.
 */
export function stepsOf(
  c: Pick<CommandDoc, 'status' | 'createdAt' | 'finishedAt' | 'lastResultReason' | 'transitions'>,
): CommandTransition[] {
  if (c.transitions?.length) return c.transitions;
  const steps: CommandTransition[] = [{ to: 'queued', at: c.createdAt, detail: null, by: null }];
  if (c.status !== 'queued') steps.push({ to: c.status, at: c.finishedAt ?? c.createdAt, detail: c.lastResultReason, by: null });
  return steps;
}

/** One step in words: "cancelled by Ana Lopez: wrong car", "failed: ignition on", "sent: published to the vehicle". */
export function stepWords(t: CommandTransition): string {
  const who = t.by ? ` by ${t.by}` : '';
  // the car's own answer is stored as `vehicle: <status> (<reason>)`: the step already says the status
  const answer = t.detail ? /^vehicle: \w+(?: \((.*)\))?$/.exec(t.detail) : null;
  const detail = answer ? (answer[1] ?? null) : t.detail;
  return `${t.to}${who}${detail ? `: ${reasonWords(detail)}` : ''}`;
}

/** The Commands view's order: failed and expired first, then the rest; newest first within each. */
export function troubleFirst<C extends Pick<CommandDoc, 'status' | 'createdAt'>>(commands: readonly C[]): C[] {
  return [...commands].sort((a, b) => Number(TROUBLE.has(b.status)) - Number(TROUBLE.has(a.status)) || b.createdAt - a.createdAt);
}
