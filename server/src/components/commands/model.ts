/** The commands component's shared entity types: a command's statuses, a stored command and its transitions. */
import type { CommandType } from '../../../../src/shared/device-protocol.js';

export const COMMAND_STATUSES = ['queued', 'sent', 'received', 'succeeded', 'failed', 'expired', 'cancelled'] as const;
export type CommandStatus = (typeof COMMAND_STATUSES)[number];
export type TerminalStatus = 'succeeded' | 'failed' | 'expired' | 'cancelled';
export const TERMINAL_STATUSES: readonly TerminalStatus[] = ['succeeded', 'failed', 'expired', 'cancelled'];
export const OPEN_STATUSES: readonly CommandStatus[] = ['queued', 'sent', 'received'];

export type CommandParams = Record<string, string | number | boolean>;

export interface CommandRecord {
  commandId: string;
  vehicleId: string;
  type: CommandType;
  params: CommandParams;
  status: CommandStatus;
  reason: string;
  issuedBy: string;
  issuedByRole: string;
  ttlSeconds: number;
  /** epoch ms */
  createdAt: number;
  expiresAt: number;
  sentAt: number | null;
  receivedAt: number | null;
  finishedAt: number | null;
  lastResultReason: string | null;
  resultData: Record<string, unknown> | null;
  sendAttempts: number;
  nextAttemptAt: number | null;
}

export interface TransitionRecord {
  from: CommandStatus | null;
  to: CommandStatus;
  /** epoch ms */
  at: number;
  detail: string | null;
}

export function isTerminal(status: CommandStatus): status is TerminalStatus {
  return (TERMINAL_STATUSES as readonly string[]).includes(status);
}
