/**
 * The replica's `requests`: actions with external effects written offline (or online: one path for both),
 * executed here through the same use cases as the staff API — at most once and never after `expiresAt` (status
 * `expired`, nothing executed). The outcome is written back on the request (`done` {…} · `rejected` {code,
 * message} · `expired`), so it replicates back to the desktop.
 *
 * - `vehicle_command` → commands.issueCommand with the command id derived from the request id (issuing is
 *   idempotent by command id).
 * - `refund`, `end_rental`, `block_customer`, `unblock_customer`, `extend_booking`, `cancel_booking` → the support
 *   ports (payments, bookings, customers), called with `idempotencyKey` = the request id; every port must be idempotent by that key (a
 *   retry after a crash between the use case's commit and recording the outcome must not refund twice).
 * A use case that fails on the server's side (5xx: e.g. the payment provider is down) leaves the request
 * `pending` with the failure in `result.lastError` (the desktop shows it) and is retried every
 * `retryIntervalMs` as its creator until it succeeds, is refused, or expires.
 */
import { createHash } from 'node:crypto';
import { COMMAND_TYPES, type CommandType } from '../../../../../src/shared/device-protocol.js';
import { AppError } from '../../../../../src/shared/errors.js';
import { parseIsoInstant } from '../../../../../src/shared/instant.js';
import { OPERATOR_ROLES, type OperatorRole } from '../../../../../src/shared/operator-role.js';
import {
  canRequest,
  REQUEST_CAPABILITY,
  REQUEST_CLOCK_SKEW_MS,
  REQUEST_KINDS,
  REQUEST_MAX_LIFETIME_MS,
  type RequestDoc,
  type RequestKind,
  type RequestStatus,
} from '../../../../../src/shared/sync-protocol.js';
import type { Db } from '../../../platform/db/index.js';
import { SYSTEM_ACTOR, type Actor } from '../../../platform/http/actor.js';
import { errorFields, type Logger } from '../../../platform/log.js';
import { finishRequest, getRequest, insertPendingRequest, listPendingRequests, noteRequestFailure } from '../data/requests.repository.js';
import type { RecordAudit } from '../../audit/index.js';

/** What requests need of the commands component. */
export interface CommandsPort {
  issueCommand(input: {
    vehicleId: string;
    type: CommandType;
    reason: string;
    ttlSeconds: number;
    actor: Actor;
    commandId?: string;
  }): Promise<{ command: { commandId: string } }>;
  getCommand(commandId: string): Promise<{ commandId: string }>;
}

/**
 * The support agents' actions, supplied by app.ts from the owning components (a missing one: requests of that
 * kind are rejected `unsupported`). Each must be idempotent by `idempotencyKey`, check its own domain rules and
 * write its audit entry; it answers a small JSON summary of what it did (shown on the desktop).
 */
export interface SupportPorts {
  refund?(input: {
    rentalId: string;
    amountCents: number;
    currency: string;
    reason: string;
    actor: Actor;
    idempotencyKey: string;
  }): Promise<Record<string, unknown>>;
  endRental?(input: {
    rentalId: string;
    reason: string;
    overrideBlockers: boolean;
    actor: Actor;
    idempotencyKey: string;
  }): Promise<Record<string, unknown>>;
  setCustomerBlocked?(input: {
    customerId: string;
    blocked: boolean;
    reason: string;
    actor: Actor;
    idempotencyKey: string;
  }): Promise<Record<string, unknown>>;
  /** a confirmed booking gets a later end (bookings' staff `extend`); `endsAt` ISO-8601 with a zone */
  extendBooking?(input: {
    bookingId: string;
    endsAt: string;
    reason: string;
    actor: Actor;
    idempotencyKey: string;
  }): Promise<Record<string, unknown>>;
  /** a confirmed booking is cancelled on the customer's behalf (bookings' staff `cancel`) */
  cancelBooking?(input: { bookingId: string; reason: string; actor: Actor; idempotencyKey: string }): Promise<Record<string, unknown>>;
}

/**
 * The creator's account as it is now (staff component): a request runs only while its creator is active and
 * still has the kind's capability (REQUEST_CAPABILITY), and runs with the role they have now.
 */
export type CreatorLookup = (staffId: string) => Promise<{ role: OperatorRole; active: boolean } | undefined>;

const MIN_TTL_S = 5;
/** Deterministic command id for a request (idempotency key → command id; fits COMMAND_ID_PATTERN). */
export function commandIdForRequest(requestId: string): string {
  return `rq-${createHash('sha256').update(requestId).digest('base64url').slice(0, 40)}`;
}

type Payload = Record<string, unknown>;
type Outcome =
  | { status: Exclude<RequestStatus, 'pending'>; result: Record<string, unknown> }
  | { status: 'pending'; lastError: { code: string; message: string } };

export class RequestExecutor {
  private readonly running = new Map<string, Promise<void>>();

  constructor(
    private readonly db: Db,
    private readonly commands: CommandsPort,
    /** looked up per execution: app.ts may plug in components started after this one */
    private readonly support: () => SupportPorts,
    private readonly audit: RecordAudit,
    private readonly log: Logger,
    private readonly creators: CreatorLookup,
    private readonly now: () => number = Date.now,
  ) {}

  /**
   * Stores a new request (pending) unless its id exists, then executes it if still pending — awaited, or with
   * `background` not (a support action may take a while — ending a rental waits for the car's lock — and the
   * desktop's push must not wait for it: the outcome replicates back).
   */
  async submit(doc: Pick<RequestDoc, 'id' | 'kind' | 'payload' | 'expiresAt'>, actor: Actor, background = false): Promise<void> {
    const latest = this.now() + REQUEST_MAX_LIFETIME_MS;
    if (doc.expiresAt > latest + REQUEST_CLOCK_SKEW_MS)
      throw new AppError(
        'expires_too_late',
        `a request may wait at most ${REQUEST_MAX_LIFETIME_MS / 3_600_000} h, until ${new Date(latest).toISOString()} by the server's clock; this one would wait until ${new Date(doc.expiresAt).toISOString()} (is this computer's clock right?)`,
        { status: 422 },
      );
    await this.db.transaction(async (tx) => {
      const inserted = await insertPendingRequest(tx, {
        id: doc.id,
        kind: doc.kind,
        payload: doc.payload,
        createdBy: actor.id,
        createdRole: actor.role,
        createdAtMs: this.now(),
        expiresAtMs: doc.expiresAt,
      });
      if (inserted) {
        await this.audit(tx, {
          actor: actor.id,
          role: actor.role,
          action: 'request.created',
          targetType: 'request',
          targetId: doc.id,
          after: { kind: doc.kind, payload: doc.payload, expiresAt: doc.expiresAt },
        });
      }
    });
    const run = this.execute(doc.id, actor);
    if (!background) return run;
    run.catch((err: unknown) => this.log.warn('executing a sync request failed', { requestId: doc.id, ...errorFields(err) }));
  }

  /** Waits for every execution in flight (stop). */
  async settle(): Promise<void> {
    await Promise.allSettled([...this.running.values()]);
  }

  /**
   * Executes a pending request (a no-op for any other status); safe to call again after a crash or retry.
   * One execution per request at a time on this instance (a push retried while the first is still running
   * waits for it); across instances, the idempotency keys keep the effect single.
   */
  execute(id: string, actor: Actor): Promise<void> {
    const inFlight = this.running.get(id);
    if (inFlight) return inFlight;
    const run = this.run(id, actor).finally(() => this.running.delete(id));
    this.running.set(id, run);
    return run;
  }

  /** Executes every pending request as its creator (at start: a crash may have left some; then periodically). */
  async executePending(): Promise<number> {
    const rows = await listPendingRequests(this.db);
    for (const r of rows) {
      const role = OPERATOR_ROLES.find((x) => x === r.created_role);
      await this.execute(r.id, role ? { id: r.created_by, role } : SYSTEM_ACTOR);
    }
    return rows.length;
  }

  private async run(id: string, actor: Actor): Promise<void> {
    const req = await getRequest(this.db, id);
    if (!req || req.status !== 'pending') return;
    const payload = (typeof req.payload === 'string' ? JSON.parse(req.payload) : req.payload) as Payload;
    const kind = req.kind as RequestKind;
    let outcome: Outcome;
    try {
      // always as the request's creator (a retried push by someone else runs it as its creator, not as them)
      const creator = await this.creatorNow({ id: req.created_by, role: actor.role }, kind);
      if ('refused' in creator) outcome = creator.refused;
      else if (kind === 'vehicle_command') outcome = await this.vehicleCommand(id, payload, req.expires_ms, (actor = creator.actor));
      else outcome = await this.supportAction(id, kind, payload, req.expires_ms, (actor = creator.actor));
    } catch (err) {
      if (err instanceof AppError && err.status < 500) outcome = { status: 'rejected', result: { code: err.code, message: err.message } };
      else {
        this.log.warn('executing a sync request failed; it stays pending and is retried until it expires', {
          requestId: id,
          kind,
          ...errorFields(err),
        });
        const e = err as { code?: unknown; message?: unknown };
        outcome = {
          status: 'pending',
          lastError: {
            code: typeof e.code === 'string' ? e.code : 'internal',
            message: typeof e.message === 'string' ? e.message.slice(0, 500) : 'failed',
          },
        };
      }
    }
    if (outcome.status === 'pending') await this.noteFailure(id, outcome.lastError);
    else await this.finish(id, outcome.status, outcome.result, actor);
  }

  /**
   * The creator as they are now: refused when the account is gone or deactivated, or its role has lost the kind's
   * capability since the request was written (a role change takes effect on requests still waiting offline).
   */
  private async creatorNow(actor: Actor, kind: RequestKind): Promise<{ actor: Actor } | { refused: Outcome }> {
    const account = await this.creators(actor.id);
    if (!account || !account.active)
      return { refused: refused('creator_inactive', `${actor.id} is no longer an active staff member; the request was not run`) };
    if (!canRequest(account.role, kind))
      return {
        refused: refused(
          'creator_lost_role',
          `${actor.id} is now ${account.role} and may no longer ${kind.replace(/_/g, ' ')} (${REQUEST_CAPABILITY[kind]}); the request was not run`,
        ),
      };
    return { actor: { id: actor.id, role: account.role } };
  }

  private async vehicleCommand(id: string, payload: Payload, expiresMs: number, actor: Actor): Promise<Outcome> {
    const commandId = commandIdForRequest(id);
    // Issued already (a crash or timeout between issuing and recording the outcome): record it, never re-issue.
    if (await this.commandExists(commandId)) return { status: 'done', result: { commandId } };
    const remainingS = Math.floor((expiresMs - this.now()) / 1000);
    if (remainingS < MIN_TTL_S) return expired();
    const problem = checkPayload('vehicle_command', payload);
    if (problem) return invalid(problem);
    // The command never outlives the request: its ttl is cut to what remains before expiresAt.
    const ttlSeconds = Math.min(payload.ttlSeconds as number, remainingS);
    await this.commands.issueCommand({
      vehicleId: payload.vehicleId as string,
      type: payload.type as CommandType,
      reason: payload.reason as string,
      ttlSeconds,
      actor,
      commandId,
    });
    return { status: 'done', result: { commandId } };
  }

  private async supportAction(
    id: string,
    kind: Exclude<RequestKind, 'vehicle_command'>,
    payload: Payload,
    expiresMs: number,
    actor: Actor,
  ): Promise<Outcome> {
    if (expiresMs <= this.now()) return expired();
    const problem = checkPayload(kind, payload);
    if (problem) return invalid(problem);
    const reason = (payload.reason as string).trim();
    const unsupported = (what: string): Outcome => ({
      status: 'rejected',
      result: { code: 'unsupported', message: `${what} is not available on this server yet` },
    });
    const ports = this.support();
    switch (kind) {
      case 'refund': {
        if (!ports.refund) return unsupported('refunding');
        const r = await ports.refund({
          rentalId: payload.rentalId as string,
          amountCents: payload.amountCents as number,
          currency: payload.currency as string,
          reason,
          actor,
          idempotencyKey: id,
        });
        return { status: 'done', result: summary(r) };
      }
      case 'end_rental': {
        if (!ports.endRental) return unsupported('ending a rental on behalf');
        return {
          status: 'done',
          result: summary(
            await ports.endRental({
              rentalId: payload.rentalId as string,
              reason,
              overrideBlockers: payload.overrideBlockers === true,
              actor,
              idempotencyKey: id,
            }),
          ),
        };
      }
      case 'block_customer':
      case 'unblock_customer': {
        if (!ports.setCustomerBlocked) return unsupported('blocking customers');
        const r = await ports.setCustomerBlocked({
          customerId: payload.customerId as string,
          blocked: kind === 'block_customer',
          reason,
          actor,
          idempotencyKey: id,
        });
        return { status: 'done', result: summary(r) };
      }
      case 'extend_booking': {
        if (!ports.extendBooking) return unsupported('extending a booking');
        return {
          status: 'done',
          result: summary(
            await ports.extendBooking({
              bookingId: payload.bookingId as string,
              endsAt: payload.endsAt as string,
              reason,
              actor,
              idempotencyKey: id,
            }),
          ),
        };
      }
      case 'cancel_booking': {
        if (!ports.cancelBooking) return unsupported('cancelling a booking');
        return {
          status: 'done',
          result: summary(await ports.cancelBooking({ bookingId: payload.bookingId as string, reason, actor, idempotencyKey: id })),
        };
      }
    }
  }

  private async commandExists(commandId: string): Promise<boolean> {
    try {
      await this.commands.getCommand(commandId);
      return true;
    } catch (err) {
      if (err instanceof AppError && err.status === 404) return false;
      throw err;
    }
  }

  private async finish(id: string, status: RequestStatus, result: Record<string, unknown>, actor: Actor): Promise<void> {
    await this.db.transaction(async (tx) => {
      if (await finishRequest(tx, id, status, result))
        await this.audit(tx, {
          actor: actor.id,
          role: actor.role,
          action: `request.${status}`,
          targetType: 'request',
          targetId: id,
          after: { status, result },
        });
    });
  }

  /** A server-side failure: the request stays pending; the desktop sees why (`result.lastError`) while it is retried. */
  private async noteFailure(id: string, lastError: { code: string; message: string }): Promise<void> {
    await this.db.transaction(async (tx) => {
      await noteRequestFailure(tx, id, lastError);
    });
  }
}

const expired = (): Outcome => ({
  status: 'expired',
  result: { code: 'expired', message: 'the request expired before the server could execute it' },
});
const refused = (code: string, message: string): Outcome => ({ status: 'rejected', result: { code, message } });
const invalid = (message: string): Outcome => ({ status: 'rejected', result: { code: 'invalid_payload', message } });

/** A port's answer, kept small (it replicates to every desktop). */
function summary(r: Record<string, unknown>): Record<string, unknown> {
  const text = JSON.stringify(r ?? {});
  return text.length <= 4_000 ? (JSON.parse(text) as Record<string, unknown>) : { note: 'done (answer too large to keep)' };
}

const ID = /^[A-Za-z0-9_.:@-]{1,100}$/;
const reasonOk = (r: unknown): boolean => typeof r === 'string' && r.trim() !== '' && r.length <= 500;

/** What is wrong with a request's payload, or undefined. */
export function checkPayload(kind: RequestKind, p: Payload): string | undefined {
  if (!(REQUEST_KINDS as readonly string[]).includes(kind)) return `unknown request kind ${String(kind)}`;
  switch (kind) {
    case 'vehicle_command':
      if (typeof p.vehicleId !== 'string' || p.vehicleId === '') return 'payload.vehicleId must be a vehicle id';
      if (!(COMMAND_TYPES as readonly unknown[]).includes(p.type)) return `payload.type must be one of ${COMMAND_TYPES.join(', ')}`;
      if (!reasonOk(p.reason)) return 'payload.reason must be 1–500 characters';
      if (!Number.isInteger(p.ttlSeconds) || (p.ttlSeconds as number) < MIN_TTL_S || (p.ttlSeconds as number) > 86_400)
        return 'payload.ttlSeconds must be an integer 5–86400';
      return undefined;
    case 'refund':
      if (typeof p.rentalId !== 'string' || !ID.test(p.rentalId)) return 'payload.rentalId must be a rental id';
      if (!Number.isInteger(p.amountCents) || (p.amountCents as number) <= 0 || (p.amountCents as number) > 100_000_000)
        return 'payload.amountCents must be a positive integer (minor units)';
      if (typeof p.currency !== 'string' || !/^[A-Z]{3}$/.test(p.currency)) return 'payload.currency must be an ISO 4217 code';
      return reasonOk(p.reason) ? undefined : 'payload.reason must be 1–500 characters';
    case 'end_rental':
      if (typeof p.rentalId !== 'string' || !ID.test(p.rentalId)) return 'payload.rentalId must be a rental id';
      if (p.overrideBlockers !== undefined && typeof p.overrideBlockers !== 'boolean')
        return 'payload.overrideBlockers must be true or false';
      return reasonOk(p.reason) ? undefined : 'payload.reason must be 1–500 characters';
    case 'block_customer':
    case 'unblock_customer':
      if (typeof p.customerId !== 'string' || !ID.test(p.customerId)) return 'payload.customerId must be a customer id';
      return reasonOk(p.reason) ? undefined : 'payload.reason must be 1–500 characters';
    case 'extend_booking':
      if (typeof p.bookingId !== 'string' || !ID.test(p.bookingId)) return 'payload.bookingId must be a booking id';
      if (typeof p.endsAt !== 'string' || !Number.isFinite(parseIsoInstant(p.endsAt))) {
        return 'payload.endsAt must be an ISO-8601 date-time with a time zone, e.g. 2025-06-01T10:00:00Z';
      }
      return reasonOk(p.reason) ? undefined : 'payload.reason must be 1–500 characters';
    case 'cancel_booking':
      if (typeof p.bookingId !== 'string' || !ID.test(p.bookingId)) return 'payload.bookingId must be a booking id';
      return reasonOk(p.reason) ? undefined : 'payload.reason must be 1–500 characters';
  }
}
