/** Applies a transition (guarded, in one transaction with its transition row and audit entry), then tells the others. */
import type { CommandType } from '../../../../../src/shared/device-protocol.js';
import type { DomainEvents } from '../../../platform/domain-events.js';
import type { CommandsRepository, TransitionSpec } from '../data/commands.repository.js';
import type { CommandRecord, CommandStatus } from '../model.js';

/** What the component's metrics learn from the domain (kept free of prom-client here). */
export interface CommandsObserver {
  issued(type: CommandType): void;
  transitioned(from: CommandStatus | null, to: CommandStatus): void;
  /** a command handed to the broker; `sinceIssueMs` for the first publish only */
  published(kind: 'first' | 'resend', sinceIssueMs?: number): void;
  resultReceived(): void;
  resultDropped(reason: ResultDropReason, context: Record<string, unknown>): void;
}

export type ResultDropReason =
  | 'bad_topic'
  | 'too_large'
  | 'not_json'
  | 'schema'
  | 'unsupported_version'
  | 'topic_mismatch'
  | 'unknown_vehicle'
  | 'duplicate'
  | 'stale'
  | 'unknown_command'
  | 'wrong_vehicle'
  | 'after_terminal'
  | 'illegal_transition'
  | 'overload'
  | 'error';

export class CommandTransitions {
  constructor(
    private readonly repo: CommandsRepository,
    private readonly events: DomainEvents,
    private readonly observer: CommandsObserver,
  ) {}

  /** The updated command, or null when the guard did not match (another caller or instance moved it first). */
  async apply(spec: TransitionSpec): Promise<CommandRecord | null> {
    const result = await this.repo.transition(spec);
    if (!result) return null;
    this.announce(result.command, result.from, spec.to, spec.at);
    return result.command;
  }

  /** After commit only: a listener must never see a transition that rolled back. */
  announce(command: CommandRecord, from: CommandStatus | null, to: CommandStatus, at: number): void {
    this.observer.transitioned(from, to);
    this.events.emit('command.transition', {
      commandId: command.commandId,
      vehicleId: command.vehicleId,
      type: command.type,
      from,
      to,
      at,
    });
  }
}
