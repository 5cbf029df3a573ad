/**
 * Device results (`…/{id}/command-results`): received → succeeded | failed, or rejected_expired → expired.
 * Applied one at a time in arrival order, so a device's "received" is never overtaken by its own "succeeded".
 * Unknown ids, results from another vehicle's topic, repeats and results after a terminal state are dropped and
 * counted — never a crash, never a change to a terminal command.
 */
import type { CommandResult } from '../../../../../src/shared/device-protocol.js';
import { errorFields, type Logger } from '../../../platform/log.js';
import type { CommandsRepository } from '../data/commands.repository.js';
import { isTerminal, type CommandRecord } from '../model.js';
import { ALLOWED_FROM, canTransition, resultTarget } from './command-lifecycle.js';
import type { CommandsObserver, CommandTransitions, ResultDropReason } from './command-transitions.js';

export type ResultOutcome = { applied: true; command: CommandRecord } | { applied: false; reason: ResultDropReason };

export class CommandResultProcessor {
  private chain: Promise<unknown> = Promise.resolve();
  private pending = 0;

  constructor(
    private readonly repo: CommandsRepository,
    private readonly transitions: CommandTransitions,
    private readonly observer: CommandsObserver,
    private readonly log: Logger,
    private readonly maxPending = 10_000,
  ) {}

  /** Queues a decoded result from the topic of `vehicleId`; results past `maxPending` are dropped (overload). */
  accept(vehicleId: string, result: CommandResult, receivedAt: number): void {
    if (this.pending >= this.maxPending) {
      this.observer.resultDropped('overload', { vehicleId, commandId: result.commandId });
      return;
    }
    this.pending++;
    this.chain = this.chain
      .then(() => this.apply(vehicleId, result, receivedAt))
      .catch((err: unknown) => {
        this.observer.resultDropped('error', { vehicleId, commandId: result.commandId });
        this.log.error('applying a command result failed', { vehicleId, commandId: result.commandId, ...errorFields(err) });
      })
      .finally(() => this.pending--);
  }

  /** Resolves when every accepted result has been applied or dropped. */
  idle(): Promise<void> {
    return this.chain.then(() => undefined);
  }

  async apply(vehicleId: string, result: CommandResult, receivedAt: number): Promise<ResultOutcome> {
    const drop = (reason: ResultDropReason, command?: CommandRecord): ResultOutcome => {
      this.observer.resultDropped(reason, { vehicleId, commandId: result.commandId, status: result.status, current: command?.status });
      if (reason === 'after_terminal' && (result.status === 'succeeded' || result.status === 'failed')) {
        // The car says it acted on a command we consider finished (e.g. expired): worth a human's attention.
        this.log.warn('vehicle reported a result for a finished command', {
          vehicleId,
          commandId: result.commandId,
          result: result.status,
          status: command?.status,
        });
      }
      return { applied: false, reason };
    };
    const to = resultTarget(result.status);
    const classify = (command: CommandRecord | undefined): ResultDropReason | undefined => {
      if (!command) return 'unknown_command';
      if (command.vehicleId !== vehicleId) return 'wrong_vehicle';
      if (command.status === to) return 'duplicate';
      if (isTerminal(command.status)) return 'after_terminal';
      if (!canTransition(command.status, to)) return 'illegal_transition';
      return undefined;
    };

    const command = await this.repo.get(result.commandId);
    const refused = classify(command);
    if (refused) return drop(refused, command);

    const reason =
      result.reason?.trim() ||
      (result.status === 'rejected_expired'
        ? 'rejected by the vehicle: expired by its clock'
        : result.status === 'failed'
          ? 'failed (no reason given)'
          : undefined);
    const applied = await this.transitions.apply({
      commandId: result.commandId,
      to,
      from: ALLOWED_FROM[to],
      at: receivedAt,
      actor: { id: vehicleId, role: 'device' },
      detail: `vehicle: ${result.status}${reason ? ` (${reason})` : ''}`,
      ...(reason && to !== 'received' ? { lastResultReason: reason } : {}),
      ...(result.data && to !== 'received' ? { resultData: result.data } : {}),
    });
    if (applied) return { applied: true, command: applied };
    // Another instance (or the expiry sweep) moved it between our read and our update.
    const now = await this.repo.get(result.commandId);
    return drop(classify(now) ?? 'illegal_transition', now);
  }
}
