/**
 * What is wrong with a value typed into one of the desk's forms, in the words shown next to that field (Field.tsx).
 * The limits are the sync protocol's and the actions' own (src/shared/sync-protocol.ts, data/actions.ts), checked
 * here first so the operator learns it at the field instead of from an error far below it.
 */
import { formatMoney, parseMoney } from './format';

export const REASON_MAX = 500;
export const NOTE_MAX = 4000;
export const TASK_NOTE_MAX = 2000;

/** A required reason (commands, refunds, blocks, ending a rental, booking changes). */
export function reasonProblem(text: string): string | undefined {
  const t = text.trim();
  if (!t) return 'Give a reason: it is recorded with the action.';
  if (t.length > REASON_MAX) return `At most ${REASON_MAX} characters (${t.length} now).`;
  return undefined;
}

/** A note on a car, a customer or an alert. */
export function noteProblem(text: string, max = NOTE_MAX): string | undefined {
  const t = text.trim();
  if (!t) return 'Write the note first.';
  if (t.length > max) return `At most ${max} characters (${t.length} now).`;
  return undefined;
}

/** An optional text (a task's note): only its length. */
export function optionalTextProblem(text: string, max: number): string | undefined {
  const t = text.trim();
  return t.length > max ? `At most ${max} characters (${t.length} now).` : undefined;
}

/** A refund amount as typed, against what can still be refunded (when the ledger could be read). */
export function refundAmountProblem(text: string, refundable: number | undefined, currency: string): string | undefined {
  if (!text.trim()) return 'Enter the amount to refund, e.g. 12.50.';
  const cents = parseMoney(text);
  if (cents === undefined) return `“${text.trim()}” is not an amount: use digits and up to two decimals, e.g. 12.50.`;
  if (cents <= 0) return 'The amount must be more than zero.';
  if (refundable !== undefined && cents > refundable) return `At most ${formatMoney(refundable, currency)} can still be refunded.`;
  return undefined;
}

/** The problems of a form's fields: only those with a message. */
export type FieldProblems<F extends string> = Partial<Record<F, string>>;
