/**
 * The replica's `requests`: actions with external effects written offline, executed here through the same use
 * cases as the staff API — at most once (the command id is derived from the request id, and issuing is
 * idempotent by command id) and never after `expiresAt` (status `expired`, nothing executed). The outcome is
 * written back on the request (`done` {commandId} · `rejected` {code, message} · `expired` · `failed`), so it
 * replicates back to the desktop.
 */
import { createHash } from 'node:crypto';
import { COMMAND_TYPES, type CommandType } from '../../../../../src/shared/device-protocol.js';
import { AppError } from '../../../../../src/shared/errors.js';
import type { RequestDoc, RequestStatus } from '../../../../../src/shared/sync-protocol.js';
import { lockReplicationSequence, type Db, type Queryable } from '../../../platform/db/index.js';
import { SYSTEM_ACTOR, type Actor } from '../../../platform/http/actor.js';
import { errorFields, type Logger } from '../../../platform/log.js';

export type RecordAudit = (tx: Queryable, entry: { actor: string; role: string; action: string; targetType: string; targetId: string; reason?: string | null; before?: unknown; after?: unknown }) => Promise<void>;

/** What requests need of the commands component. */
export interface CommandsPort {
  issueCommand(input: { vehicleId: string; type: CommandType; reason: string; ttlSeconds: number; actor: Actor; commandId?: string }): Promise<{ command: { commandId: string } }>;
  getCommand(commandId: string): Promise<{ commandId: string }>;
}

const MIN_TTL_S = 5;

/** Deterministic command id for a request (idempotency key → command id; fits COMMAND_ID_PATTERN). */
export function commandIdForRequest(requestId: string): string {
  return `rq-${createHash('sha256').update(requestId).digest('base64url').slice(0, 40)}`;
}

export class RequestExecutor {
  constructor(
    private readonly db: Db,
    private readonly commands: CommandsPort,
    private readonly audit: RecordAudit,
    private readonly log: Logger,
    private readonly now: () => number = Date.now,
  ) {}

  /** Stores a new request (pending) unless its id exists, then executes it if still pending. */
  async submit(doc: Pick<RequestDoc, 'id' | 'kind' | 'payload' | 'expiresAt'>, actor: Actor): Promise<void> {
    await this.db.transaction(async (tx) => {
      await lockReplicationSequence(tx);
      const inserted = await tx.query(
        `insert into sync_requests (id, kind, payload, created_by, created_at, expires_at, status, result, server_seq)
         values ($1, $2, $3::jsonb, $4, to_timestamp($5::float8 / 1000), to_timestamp($6::float8 / 1000), 'pending', null, nextval('replication_seq'))
         on conflict (id) do nothing`,
        [doc.id, doc.kind, JSON.stringify(doc.payload), actor.id, this.now(), doc.expiresAt],
      );
      if (inserted.rowCount > 0) {
        await this.audit(tx, { actor: actor.id, role: actor.role, action: 'request.created', targetType: 'request', targetId: doc.id, after: { kind: doc.kind, payload: doc.payload, expiresAt: doc.expiresAt } });
      }
    });
    await this.execute(doc.id, actor);
  }

  /** Executes a pending request (a no-op for any other status); safe to call again after a crash or retry. */
  async execute(id: string, actor: Actor): Promise<void> {
    const { rows } = await this.db.query<{ kind: string; payload: unknown; expires_ms: number; status: RequestStatus }>(
      `select kind, payload, (extract(epoch from expires_at) * 1000)::float8 as expires_ms, status from sync_requests where id = $1`,
      [id],
    );
    const req = rows[0];
    if (!req || req.status !== 'pending') return;
    const commandId = commandIdForRequest(id);
    // Issued already (a crash or timeout between issuing and recording the outcome): record it, never re-issue.
    if (await this.commandExists(commandId)) return this.finish(id, 'done', { commandId }, actor);
    const now = this.now();
    const remainingS = Math.floor((req.expires_ms - now) / 1000);
    if (remainingS < MIN_TTL_S) return this.finish(id, 'expired', { code: 'expired', message: 'the request expired before the server could execute it' }, actor);
    const payload = (typeof req.payload === 'string' ? JSON.parse(req.payload) : req.payload) as Record<string, unknown>;
    const problem = checkCommandPayload(payload);
    if (problem) return this.finish(id, 'rejected', { code: 'invalid_payload', message: problem }, actor);
    try {
      // The command never outlives the request: its ttl is cut to what remains before expiresAt.
      const ttlSeconds = Math.min(payload.ttlSeconds as number, remainingS);
      await this.commands.issueCommand({ vehicleId: payload.vehicleId as string, type: payload.type as CommandType, reason: payload.reason as string, ttlSeconds, actor, commandId });
      await this.finish(id, 'done', { commandId }, actor);
    } catch (err) {
      if (err instanceof AppError && err.status < 500) return this.finish(id, 'rejected', { code: err.code, message: err.message }, actor);
      this.log.warn('executing a sync request failed; it stays pending and runs again on the next push of it or at start', { requestId: id, ...errorFields(err) });
    }
  }

  /** Executes every pending request (at start: a crash may have left some). */
  async executePending(): Promise<number> {
    const { rows } = await this.db.query<{ id: string }>(`select id from sync_requests where status = 'pending' order by created_at limit 1000`);
    for (const r of rows) await this.execute(r.id, SYSTEM_ACTOR);
    return rows.length;
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
      await lockReplicationSequence(tx);
      const updated = await tx.query(
        `update sync_requests set status = $2, result = $3::jsonb, server_seq = nextval('replication_seq'), updated_at = now() where id = $1 and status = 'pending'`,
        [id, status, JSON.stringify(result)],
      );
      if (updated.rowCount > 0) await this.audit(tx, { actor: actor.id, role: actor.role, action: `request.${status}`, targetType: 'request', targetId: id, after: { status, result } });
    });
  }
}

function checkCommandPayload(p: Record<string, unknown>): string | undefined {
  if (typeof p.vehicleId !== 'string' || p.vehicleId === '') return 'payload.vehicleId must be a vehicle id';
  if (!(COMMAND_TYPES as readonly unknown[]).includes(p.type)) return `payload.type must be one of ${COMMAND_TYPES.join(', ')}`;
  if (typeof p.reason !== 'string' || p.reason.trim() === '' || p.reason.length > 500) return 'payload.reason must be 1–500 characters';
  if (!Number.isInteger(p.ttlSeconds) || (p.ttlSeconds as number) < MIN_TTL_S || (p.ttlSeconds as number) > 86_400) return 'payload.ttlSeconds must be an integer 5–86400';
  return undefined;
}
