/** Use cases of the command lifecycle: issue (idempotent by id), cancel, read, and wait for the outcome. */
import { randomUUID } from 'node:crypto';
import { COMMAND_ID_PATTERN, COMMAND_TYPES, type CommandType } from '../../../../../src/shared/device-protocol.js';
import { AppError } from '../../../../../src/shared/errors.js';
import type { DomainEvents } from '../../../platform/domain-events.js';
import type { Actor } from '../../../platform/http/actor.js';
import { UnknownVehicleError, type CommandsRepository } from '../data/commands.repository.js';
import { isTerminal, type CommandParams, type CommandRecord, type TransitionRecord } from '../model.js';
import type { CommandDispatcher } from './command-dispatcher.js';
import { ALLOWED_FROM } from './command-lifecycle.js';
import type { CommandsObserver, CommandTransitions } from './command-transitions.js';

export const MIN_TTL_SECONDS = 5;
export const MAX_TTL_SECONDS = 86_400;
export const MAX_REASON_LENGTH = 500;
export const MAX_PARAMS = 20;

export interface IssueCommandInput {
  vehicleId: string;
  type: CommandType;
  params?: CommandParams;
  /** why (staff reason, or e.g. "rental r-1 started"); 1–500 characters */
  reason: string;
  /** 5 s … 24 h */
  ttlSeconds: number;
  actor: Actor;
  /** client-chosen id: makes the request idempotent (same id + same body → the same command) */
  commandId?: string;
}

export interface IssueCommandResult {
  command: CommandRecord;
  /** false when the id already existed with the same body (an idempotent retry) */
  created: boolean;
}

export type CommandWithTransitions = CommandRecord & { transitions: TransitionRecord[] };

const COMMAND_ID_RE = new RegExp(COMMAND_ID_PATTERN);

export class CommandService {
  private readonly waiters = new Set<() => void>();
  private stopped = false;

  constructor(
    private readonly repo: CommandsRepository,
    private readonly transitions: CommandTransitions,
    private readonly dispatcher: CommandDispatcher,
    private readonly fleet: { isKnownVehicle(vehicleId: string): boolean },
    private readonly events: DomainEvents,
    private readonly observer: CommandsObserver,
    private readonly now: () => number,
    /** waitForTerminal re-reads the database this often (a transition may happen on another instance) */
    private readonly pollMs = 500,
  ) {}

  async issue(input: IssueCommandInput): Promise<IssueCommandResult> {
    const reason = validateIssue(input);
    if (!this.fleet.isKnownVehicle(input.vehicleId)) throw vehicleNotFound(input.vehicleId);
    const params = input.params ?? {};
    const commandId = input.commandId ?? randomUUID();
    const createdAt = this.now();
    let result: { inserted: boolean; command: CommandRecord };
    try {
      result = await this.repo.insert({
        commandId,
        vehicleId: input.vehicleId,
        type: input.type,
        params,
        reason,
        ttlSeconds: input.ttlSeconds,
        createdAt,
        actor: input.actor,
      });
    } catch (err) {
      if (err instanceof UnknownVehicleError) throw vehicleNotFound(input.vehicleId);
      throw err;
    }
    if (!result.inserted) {
      const c = result.command;
      const same =
        c.vehicleId === input.vehicleId &&
        c.type === input.type &&
        c.reason === reason &&
        c.ttlSeconds === input.ttlSeconds &&
        canonical(c.params) === canonical(params);
      if (!same)
        throw new AppError(
          'command_id_conflict',
          `command ${commandId} already exists with a different vehicle, type, params, reason or ttl`,
          { status: 409 },
        );
      return { command: c, created: false };
    }
    this.observer.issued(input.type);
    this.transitions.announce(result.command, null, 'queued', createdAt);
    this.dispatcher.commandIssued(result.command);
    return { command: result.command, created: true };
  }

  /** Cancels a queued or sent command (a sent one is no longer resent; the vehicle may already have it). */
  async cancel(commandId: string, reason: string, actor: Actor): Promise<CommandRecord> {
    const why = reason.trim();
    if (why.length < 1 || why.length > MAX_REASON_LENGTH)
      throw new AppError('invalid_reason', `reason must be 1–${MAX_REASON_LENGTH} characters`, { status: 400 });
    const current = await this.repo.get(commandId);
    if (!current) throw commandNotFound(commandId);
    const cancelled = await this.transitions.apply({
      commandId,
      to: 'cancelled',
      from: ALLOWED_FROM.cancelled,
      at: this.now(),
      actor,
      reason: why,
      detail: `cancelled by ${actor.id}`,
    });
    if (cancelled) return cancelled;
    const latest = (await this.repo.get(commandId)) ?? current;
    throw new AppError(
      'command_not_cancellable',
      `command ${commandId} is ${latest.status}; only queued or sent commands can be cancelled`,
      { status: 409 },
    );
  }

  async get(commandId: string): Promise<CommandWithTransitions> {
    const command = await this.repo.get(commandId);
    if (!command) throw commandNotFound(commandId);
    return { ...command, transitions: await this.repo.transitions(commandId) };
  }

  async listForVehicle(vehicleId: string, limit: number): Promise<CommandRecord[]> {
    if (!this.fleet.isKnownVehicle(vehicleId)) throw vehicleNotFound(vehicleId);
    return this.repo.listByVehicle(vehicleId, limit);
  }

  /**
   * Resolves with the command once it is terminal, or with its current state after `timeoutMs` (check
   * `status`). Learns of transitions from this instance's events at once and of other instances' by polling.
   */
  async waitForTerminal(commandId: string, timeoutMs: number): Promise<CommandRecord> {
    const first = await this.repo.get(commandId);
    if (!first) throw commandNotFound(commandId);
    if (isTerminal(first.status) || timeoutMs <= 0) return first;
    if (this.stopped) throw shuttingDown();
    return new Promise<CommandRecord>((resolve, reject) => {
      let settled = false;
      let checking = false;
      let latest = first;
      const check = async (final: boolean) => {
        if (settled || (checking && !final)) return;
        checking = true;
        try {
          latest = (await this.repo.get(commandId)) ?? latest;
        } catch {
          // keep the last known state; the next poll retries
        } finally {
          checking = false;
        }
        if (isTerminal(latest.status) || final) finish(() => resolve(latest));
      };
      const finish = (settle: () => void) => {
        if (settled) return;
        settled = true;
        off();
        clearInterval(poll);
        clearTimeout(timer);
        this.waiters.delete(abort);
        settle();
      };
      const abort = () => finish(() => reject(shuttingDown()));
      const off = this.events.on('command.transition', (e) => {
        if (e.commandId === commandId && isTerminal(e.to as CommandRecord['status'])) void check(false);
      });
      const poll = setInterval(() => void check(false), this.pollMs);
      const timer = setTimeout(() => void check(true), timeoutMs);
      this.waiters.add(abort);
    });
  }

  /** Rejects pending waitForTerminal calls (the component is stopping). */
  stop(): void {
    this.stopped = true;
    for (const abort of [...this.waiters]) abort();
  }
}

/** Domain-level validation (the HTTP schema checks the same; in-process callers such as rentals get it here). */
function validateIssue(input: IssueCommandInput): string {
  const bad = (message: string) => new AppError('invalid_command', message, { status: 400 });
  if (!(COMMAND_TYPES as readonly string[]).includes(input.type)) throw bad(`type must be one of ${COMMAND_TYPES.join(', ')}`);
  if (!Number.isInteger(input.ttlSeconds) || input.ttlSeconds < MIN_TTL_SECONDS || input.ttlSeconds > MAX_TTL_SECONDS) {
    throw bad(`ttlSeconds must be an integer ${MIN_TTL_SECONDS}–${MAX_TTL_SECONDS}`);
  }
  const reason = typeof input.reason === 'string' ? input.reason.trim() : '';
  if (reason.length < 1 || reason.length > MAX_REASON_LENGTH) throw bad(`reason is required (1–${MAX_REASON_LENGTH} characters)`);
  if (input.commandId !== undefined && !COMMAND_ID_RE.test(input.commandId))
    throw bad('commandId must be 8–64 characters of A–Z a–z 0–9 _ -');
  const params = input.params ?? {};
  if (typeof params !== 'object' || params === null || Array.isArray(params)) throw bad('params must be an object');
  const entries = Object.entries(params);
  if (entries.length > MAX_PARAMS) throw bad(`at most ${MAX_PARAMS} params`);
  for (const [key, value] of entries) {
    if (key.length < 1 || key.length > 64) throw bad('param names must be 1–64 characters');
    const ok =
      typeof value === 'boolean' ||
      (typeof value === 'number' && Number.isFinite(value)) ||
      (typeof value === 'string' && value.length <= 200);
    if (!ok) throw bad(`param ${key} must be a boolean, a finite number or a string of at most 200 characters`);
  }
  return reason;
}

/** JSON with sorted keys: params stored as jsonb come back in the database's key order. */
function canonical(params: CommandParams): string {
  return JSON.stringify(
    Object.keys(params)
      .sort()
      .map((k) => [k, params[k]]),
  );
}

const vehicleNotFound = (vehicleId: string) => new AppError('vehicle_not_found', `no vehicle ${vehicleId}`, { status: 404 });
const commandNotFound = (commandId: string) => new AppError('command_not_found', `no command ${commandId}`, { status: 404 });
const shuttingDown = () => new AppError('shutting_down', 'the server is stopping', { status: 503 });
