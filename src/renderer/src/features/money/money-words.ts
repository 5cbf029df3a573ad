/**
 * The payments back office in people's words: what an operation is, where it stands, and why the provider's last
 * answer failed — the outbox records provider errors as it got them ("gave up after 3 attempts: payment provider
 * answered 503 to capture: …", "hold_voided: payment provider answered 409 …"); support reads a sentence.
 */
import { plainServerText } from '../../lib/format';

export type OperationKind = 'authorize' | 'capture' | 'void' | 'refund';
export type OperationStatus = 'pending' | 'in_flight' | 'succeeded' | 'failed';

export const KIND_WORDS: Record<OperationKind, string> = {
  authorize: 'Card hold',
  capture: 'Charge',
  void: 'Release of a hold',
  refund: 'Refund',
};

export const STATUS_WORDS: Record<OperationStatus, string> = {
  pending: 'Queued for retry',
  in_flight: 'Sending to the provider…',
  succeeded: 'Settled',
  failed: 'Failed',
};

/** Definite refusals by the provider's code: retrying with the same request gets the same answer. */
const REFUSALS: Record<string, string> = {
  hold_voided: 'The card hold had already been released at the provider, so there was nothing left to charge.',
  hold_declined: 'The card hold had been declined, so there was nothing to charge or release.',
  hold_already_captured: 'The hold had already been charged, so it could not be released.',
  hold_not_captured: 'Nothing had been charged on this hold yet, so there was nothing to refund.',
  hold_not_found: 'The provider does not know this card hold.',
  refund_exceeds_captured: 'The refund is more than what is left of the charge.',
  amount_exceeds_hold: 'The amount is more than the card hold.',
  card_declined: 'The card was declined.',
};

/** One sentence (or two) about why the last attempt failed; null when nothing failed. */
export function providerErrorWords(lastError: string | null | undefined): string | null {
  if (!lastError) return null;
  const gaveUp = /^gave up after (\d+) attempts?: (.*)$/s.exec(lastError);
  if (gaveUp) {
    const tries = Number(gaveUp[1]);
    return `The payment provider did not answer properly after ${tries} ${tries === 1 ? 'try' : 'tries'} (${causeWords(gaveUp[2]!)}).`;
  }
  const code = /^([a-z_]+): /.exec(lastError)?.[1];
  if (code && REFUSALS[code]) return `${REFUSALS[code]} The provider refused it.`;
  if (/^no hold to (capture|refund)$/.test(lastError)) return 'No card hold was ever placed for this payment.';
  const captured = /^hold \S+ is already captured: cannot void$/.exec(lastError);
  if (captured) return REFUSALS.hold_already_captured!;
  return sentence(causeWords(lastError));
}

/** A transient failure's cause: timeouts, an unreachable provider, 5xx answers. */
function causeWords(cause: string): string {
  if (/gave no answer within/.test(cause)) return 'it did not answer in time';
  if (/unreachable/.test(cause)) return 'it could not be reached';
  const status = /answered (\d{3}) to \w+/.exec(cause)?.[1];
  if (status === '429') return 'it asked us to slow down';
  if (status && status.startsWith('5')) return `it reported a problem on its side (error ${status})`;
  if (/interrupted by shutdown/.test(cause)) return 'our server was restarting';
  return plainServerText(cause);
}

function sentence(text: string): string {
  const t = text.trim();
  if (!t) return t;
  const s = t.charAt(0).toUpperCase() + t.slice(1);
  return /[.!?)]$/.test(s) ? s : `${s}.`;
}

/** What a reconciliation mismatch means. */
export const MISMATCH_WORDS: Record<string, string> = {
  double_capture: 'The provider charged this hold more than once.',
  unexpected_capture: 'The provider charged money we have no hold for.',
  orphan_hold: 'The provider holds money for a payment we consider finished.',
  missing_at_provider: 'The provider has no hold for this payment.',
  duplicate_hold: 'The provider holds more than one live hold for this payment.',
  operation_failed: 'An operation on this payment failed and needs a look.',
  status_mismatch: 'Our status and the provider’s disagree.',
  held_amount_mismatch: 'The held amounts differ.',
  captured_amount_mismatch: 'The charged amounts differ.',
  refunded_amount_mismatch: 'The refunded amounts differ.',
  unknown_at_provider: 'The provider holds money under a reference we do not know.',
};

export const mismatchWords = (problem: string): string => MISMATCH_WORDS[problem] ?? sentence(plainServerText(problem));
