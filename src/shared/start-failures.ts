/**
 * Why a start of a reservation or booking failed (the reservation kept, the hold voided): the codes the server
 * stores (rental_start_attempts, migration 033) and answers (`GET /ops/v1/rentals/start-attempts`, a rental's
 * evidence), and how the desk says them. One list for both.
 */
export const START_FAILURES = [
  'payment_declined',
  'payment_unavailable',
  'unlock_not_issued',
  'unlock_timeout',
  'unlock_failed',
  'vehicle_unreachable',
  'start_conflict',
  'not_recorded',
] as const;
export type StartFailure = (typeof START_FAILURES)[number];

const WORDS: Record<StartFailure, string> = {
  payment_declined: 'the payment hold was declined',
  payment_unavailable: 'the payment provider did not answer',
  unlock_not_issued: 'the unlock could not be sent to the car',
  unlock_timeout: 'the car did not confirm the unlock in time',
  unlock_failed: 'the car refused the unlock',
  vehicle_unreachable: 'the car could not be reached (our connection to the cars was down)',
  start_conflict: 'the car was taken or the reservation ended meanwhile',
  not_recorded: 'the rental could not be recorded (a server fault)',
};

/** "the car refused the unlock: door jammed" — the failure in words, with the detail the server kept. */
export function startFailureWords(failure: string, detail: string | null): string {
  const words = (WORDS as Record<string, string | undefined>)[failure] ?? failure.replace(/_/g, ' ');
  // a conflict's detail already says what happened ("another reservation … overlaps")
  if (failure === 'start_conflict') return detail ?? words;
  return detail ? `${words}: ${detail}` : words;
}
