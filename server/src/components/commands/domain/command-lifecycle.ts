/**
 * The command state machine: `queued → sent → received → succeeded | failed | expired`, plus `cancelled`.
 * Terminal states never change again. Which device result moves a command where, and the resend backoff.
 */
import { backoffDelay } from '../../../../../src/shared/backoff.js';
import type { CommandResultStatus } from '../../../../../src/shared/device-protocol.js';
import type { CommandStatus } from '../model.js';

export type Target = Exclude<CommandStatus, 'queued'>;

/** The states a command may be in for a transition to `target`. */
export const ALLOWED_FROM: Readonly<Record<Target, readonly CommandStatus[]>> = {
  sent: ['queued'],
  received: ['sent'],
  // sent → succeeded/failed: a device may skip "received" (or it was lost); the result still counts
  succeeded: ['sent', 'received'],
  failed: ['sent', 'received'],
  expired: ['queued', 'sent', 'received'],
  // a sent command can still be cancelled: the server stops resending it (the device may already have it)
  cancelled: ['queued', 'sent'],
};

export function canTransition(from: CommandStatus, to: Target): boolean {
  return ALLOWED_FROM[to].includes(from);
}

/** The state a device result moves a command to. */
export function resultTarget(status: CommandResultStatus): Target {
  switch (status) {
    case 'received':
      return 'received';
    case 'succeeded':
      return 'succeeded';
    case 'failed':
      return 'failed';
    case 'rejected_expired':
      return 'expired';
  }
}

/** Delay before resend number `attempt` (1 = the first resend): base, doubling, capped. */
export function resendDelayMs(baseMs: number, attempt: number, maxMs: number): number {
  return backoffDelay(attempt, { initialMs: baseMs, maxMs, maxExponent: 20 });
}
