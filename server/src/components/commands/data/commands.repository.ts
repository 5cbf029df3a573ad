/**
 * SQL for device commands (`commands`, `command_transitions`). Every state change is one guarded UPDATE
 * (`status = any(allowed from-states)`) in a transaction that also writes the transition row and the audit
 * row: when two server instances race for the same transition, exactly one UPDATE matches and the other
 * changes nothing. Times are epoch ms in and out (computed by the caller's clock, stored exactly).
 */
import type { CommandType } from '../../../../../src/shared/device-protocol.js';
import type { Db, Queryable } from '../../../platform/db/index.js';
import { recordAudit } from '../../audit/index.js';
import { isTerminal, type CommandParams, type CommandRecord, type CommandStatus, type TransitionRecord } from '../model.js';

export interface NewCommand {
  commandId: string;
  vehicleId: string;
  type: CommandType;
  params: CommandParams;
  reason: string;
  ttlSeconds: number;
  createdAt: number;
  actor: { id: string; role: string };
}

export interface TransitionSpec {
  commandId: string;
  to: Exclude<CommandStatus, 'queued'>;
  /** the UPDATE applies only while the command is in one of these states */
  from: readonly CommandStatus[];
  at: number;
  /** one line for the transition row and the audit entry */
  detail?: string;
  actor: { id: string; role: string };
  /** staff reason (cancel) */
  reason?: string;
  /** the UPDATE applies only while expires_at is after this (epoch ms): never claim a command for sending too late */
  expiresAfter?: number;
  /** only with to = sent: when the first resend is due */
  nextAttemptAt?: number;
  lastResultReason?: string;
  resultData?: Record<string, unknown>;
}

interface CommandRow {
  command_id: string;
  vehicle_id: string;
  type: CommandType;
  params: CommandParams | null;
  status: CommandStatus;
  reason: string;
  issued_by: string;
  issued_by_role: string;
  ttl_seconds: number;
  created_at_ms: number;
  expires_at_ms: number;
  sent_at_ms: number | null;
  received_at_ms: number | null;
  finished_at_ms: number | null;
  last_result_reason: string | null;
  result_data: Record<string, unknown> | null;
  send_attempts: number;
  next_attempt_at_ms: number | null;
}

/** Epoch ms (an integer parameter) as timestamptz, exactly (no float rounding). */
const ts = (param: string) => `(timestamptz 'epoch' + ${param}::bigint * interval '1 millisecond')`;
/** timestamptz as epoch ms (float8 so both drivers return a JS number; extract() is numeric, so exact). */
const ms = (column: string, alias: string) => `floor(extract(epoch from ${column}) * 1000)::float8 as ${alias}`;

function columns(t: string): string {
  return [
    `${t}.command_id`,
    `${t}.vehicle_id`,
    `${t}.type`,
    `${t}.params`,
    `${t}.status`,
    `${t}.reason`,
    `${t}.issued_by`,
    `${t}.issued_by_role`,
    `${t}.ttl_seconds`,
    ms(`${t}.created_at`, 'created_at_ms'),
    ms(`${t}.expires_at`, 'expires_at_ms'),
    ms(`${t}.sent_at`, 'sent_at_ms'),
    ms(`${t}.received_at`, 'received_at_ms'),
    ms(`${t}.finished_at`, 'finished_at_ms'),
    `${t}.last_result_reason`,
    `${t}.result_data`,
    `${t}.send_attempts`,
    ms(`${t}.next_attempt_at`, 'next_attempt_at_ms'),
  ].join(', ');
}

function fromRow(r: CommandRow): CommandRecord {
  return {
    commandId: r.command_id,
    vehicleId: r.vehicle_id,
    type: r.type,
    params: r.params ?? {},
    status: r.status,
    reason: r.reason,
    issuedBy: r.issued_by,
    issuedByRole: r.issued_by_role,
    ttlSeconds: r.ttl_seconds,
    createdAt: r.created_at_ms,
    expiresAt: r.expires_at_ms,
    sentAt: r.sent_at_ms,
    receivedAt: r.received_at_ms,
    finishedAt: r.finished_at_ms,
    lastResultReason: r.last_result_reason,
    resultData: r.result_data,
    sendAttempts: r.send_attempts,
    nextAttemptAt: r.next_attempt_at_ms,
  };
}

/** What the audit log keeps of a command at creation. */
function auditSnapshot(c: CommandRecord): Record<string, unknown> {
  return { vehicleId: c.vehicleId, type: c.type, params: c.params, status: c.status, ttlSeconds: c.ttlSeconds, expiresAt: c.expiresAt };
}

export class UnknownVehicleError extends Error {
  constructor(vehicleId: string) {
    super(`unknown vehicle ${vehicleId}`);
  }
}

export class CommandsRepository {
  constructor(private readonly db: Db) {}

  /**
   * Inserts a queued command with its first transition and audit entry, or — when the id exists — returns the
   * stored command untouched (`inserted: false`); the caller decides whether that is an idempotent retry.
   */
  async insert(input: NewCommand): Promise<{ inserted: boolean; command: CommandRecord }> {
    try {
      return await this.db.transaction(async (tx) => {
        const { rows } = await tx.query<CommandRow>(
          `insert into commands (command_id, vehicle_id, type, params, status, reason, issued_by, issued_by_role, ttl_seconds, created_at, expires_at)
           values ($1, $2, $3, $4::jsonb, 'queued', $5, $6, $7, $8::int, ${ts('$9')}, ${ts('$10')})
           on conflict (command_id) do nothing
           returning ${columns('commands')}`,
          [
            input.commandId,
            input.vehicleId,
            input.type,
            JSON.stringify(input.params),
            input.reason,
            input.actor.id,
            input.actor.role,
            input.ttlSeconds,
            input.createdAt,
            input.createdAt + input.ttlSeconds * 1000,
          ],
        );
        if (!rows[0]) {
          const existing = await getCommand(tx, input.commandId);
          if (!existing) throw new Error(`command ${input.commandId} neither inserted nor found`);
          return { inserted: false, command: existing };
        }
        const command = fromRow(rows[0]);
        await insertTransition(tx, command.commandId, null, 'queued', input.createdAt, null);
        await recordAudit(tx, {
          actor: input.actor.id,
          role: input.actor.role,
          action: 'command.issued',
          targetType: 'command',
          targetId: command.commandId,
          reason: input.reason,
          before: null,
          after: auditSnapshot(command),
          at: input.createdAt,
        });
        return { inserted: true, command };
      });
    } catch (err) {
      if ((err as { code?: unknown }).code === '23503') throw new UnknownVehicleError(input.vehicleId); // foreign key: vehicle
      throw err;
    }
  }

  get(commandId: string): Promise<CommandRecord | undefined> {
    return getCommand(this.db, commandId);
  }

  async transitions(commandId: string): Promise<TransitionRecord[]> {
    const { rows } = await this.db.query<{
      from_status: CommandStatus | null;
      to_status: CommandStatus;
      at_ms: number;
      detail: string | null;
    }>(`select from_status, to_status, ${ms('at', 'at_ms')}, detail from command_transitions where command_id = $1 order by id`, [
      commandId,
    ]);
    return rows.map((r) => ({ from: r.from_status, to: r.to_status, at: r.at_ms, detail: r.detail }));
  }

  /** Newest first. */
  async listByVehicle(vehicleId: string, limit: number): Promise<CommandRecord[]> {
    const { rows } = await this.db.query<CommandRow>(
      `select ${columns('c')} from commands c where c.vehicle_id = $1 order by c.created_at desc, c.command_id limit $2`,
      [vehicleId, limit],
    );
    return rows.map(fromRow);
  }

  /**
   * Applies one transition if the command is still in an allowed state: the row update, the transition row and
   * the audit entry commit together. Returns null when the guard did not match (someone else moved it first).
   */
  async transition(spec: TransitionSpec): Promise<{ from: CommandStatus; command: CommandRecord } | null> {
    return this.db.transaction(async (tx) => {
      // Replication lock first (before any row lock), as every writer of replicated rows does: no lock-order deadlock.
      const terminal = isTerminal(spec.to);
      const { rows } = await tx.query<CommandRow & { from_status: CommandStatus }>(
        `with prev as (
           select command_id, status from commands
            where command_id = $1 and status = any($2::text[]) and ($3::bigint is null or expires_at > ${ts('$3')})
            for update
         )
         update commands c set
           status = $4,
           sent_at = case when $4 = 'sent' then ${ts('$5')} else c.sent_at end,
           received_at = case when $4 = 'received' then ${ts('$5')} else c.received_at end,
           finished_at = case when $6::boolean then ${ts('$5')} else c.finished_at end,
           send_attempts = c.send_attempts + case when $4 = 'sent' then 1 else 0 end,
           -- received: keeps the resend schedule (a resend makes the device repeat its latest result, recovering a lost one)
           next_attempt_at = case when $4 = 'sent' then ${ts('$7')} when $4 = 'received' then c.next_attempt_at else null end,
           last_result_reason = coalesce($8, c.last_result_reason),
           result_data = coalesce($9::jsonb, c.result_data),
           server_seq = fleetdesk_next_seq(),
           updated_at = now()
          from prev
         where c.command_id = prev.command_id
         returning prev.status as from_status, ${columns('c')}`,
        [
          spec.commandId,
          spec.from,
          spec.expiresAfter ?? null,
          spec.to,
          spec.at,
          terminal,
          spec.nextAttemptAt ?? null,
          spec.lastResultReason ?? null,
          spec.resultData === undefined ? null : JSON.stringify(spec.resultData),
        ],
      );
      const row = rows[0];
      if (!row) return null;
      const command = fromRow(row);
      await insertTransition(tx, spec.commandId, row.from_status, spec.to, spec.at, spec.detail ?? null);
      await recordAudit(tx, {
        actor: spec.actor.id,
        role: spec.actor.role,
        action: `command.${spec.to}`,
        targetType: 'command',
        targetId: spec.commandId,
        reason: spec.reason ?? spec.detail ?? null,
        before: { status: row.from_status },
        after: {
          status: spec.to,
          ...(spec.lastResultReason ? { resultReason: spec.lastResultReason } : {}),
          ...(spec.resultData ? { resultData: spec.resultData } : {}),
        },
        at: spec.at,
      });
      return { from: row.from_status, command };
    });
  }

  /**
   * Claims one resend of a `sent` or `received` command (not a state change: attempts and the next due time
   * only). Returns null when the command is no longer open and sent, expires too soon, or (unless `force`)
   * another claim already took this attempt.
   */
  async claimResend(
    commandId: string,
    at: number,
    expiresAfter: number,
    nextAttemptAt: number,
    force: boolean,
  ): Promise<CommandRecord | null> {
    return this.db.transaction(async (tx) => {
      const { rows } = await tx.query<CommandRow>(
        `update commands c set send_attempts = c.send_attempts + 1, next_attempt_at = ${ts('$4')},
                server_seq = fleetdesk_next_seq(), updated_at = now()
          where c.command_id = $1 and c.status in ('sent', 'received') and c.expires_at > ${ts('$3')}
            and ($5::boolean or c.next_attempt_at is null or c.next_attempt_at <= ${ts('$2')})
          returning ${columns('c')}`,
        [commandId, at, expiresAfter, nextAttemptAt, force],
      );
      return rows[0] ? fromRow(rows[0]) : null;
    });
  }

  /**
   * Commands that may be published now: queued, or sent/received with a resend due (all of them with
   * `allSent`), expiring after `expiresAfter`, of one vehicle or of the given (online) ones. Oldest first.
   */
  async listDispatchable(options: {
    at: number;
    expiresAfter: number;
    vehicleId?: string;
    vehicleIds?: readonly string[];
    allSent?: boolean;
    limit: number;
  }): Promise<CommandRecord[]> {
    const { rows } = await this.db.query<CommandRow>(
      `select ${columns('c')} from commands c
        where c.status in ('queued', 'sent', 'received') and c.expires_at > ${ts('$1')}
          and (c.status = 'queued' or $2::boolean or c.next_attempt_at is null or c.next_attempt_at <= ${ts('$3')})
          and ($4::text is null or c.vehicle_id = $4)
          and ($6::text[] is null or c.vehicle_id = any($6::text[]))
        order by c.created_at
        limit $5`,
      [options.expiresAfter, options.allSent ?? false, options.at, options.vehicleId ?? null, options.limit, options.vehicleIds ?? null],
    );
    return rows.map(fromRow);
  }

  /** Open commands past their expiry (a `received` one only after `receivedGraceMs` more). */
  async listOverdue(at: number, receivedGraceMs: number, limit: number): Promise<Array<{ commandId: string; status: CommandStatus }>> {
    const { rows } = await this.db.query<{ command_id: string; status: CommandStatus }>(
      `select command_id, status from commands
        where status in ('queued', 'sent', 'received') and expires_at <= ${ts('$1')}
          and (status <> 'received' or expires_at <= ${ts('$2')})
        order by expires_at
        limit $3`,
      [at, at - receivedGraceMs, limit],
    );
    return rows.map((r) => ({ commandId: r.command_id, status: r.status }));
  }

  async countOpen(): Promise<number> {
    const { rows } = await this.db.query<{ n: number }>(
      `select count(*)::float8 as n from commands where status in ('queued', 'sent', 'received')`,
    );
    return rows[0]?.n ?? 0;
  }
}

async function getCommand(q: Queryable, commandId: string): Promise<CommandRecord | undefined> {
  const { rows } = await q.query<CommandRow>(`select ${columns('c')} from commands c where c.command_id = $1`, [commandId]);
  return rows[0] ? fromRow(rows[0]) : undefined;
}

async function insertTransition(
  tx: Queryable,
  commandId: string,
  from: CommandStatus | null,
  to: CommandStatus,
  at: number,
  detail: string | null,
): Promise<void> {
  await tx.query(`insert into command_transitions (command_id, from_status, to_status, at, detail) values ($1, $2, $3, ${ts('$4')}, $5)`, [
    commandId,
    from,
    to,
    at,
    detail,
  ]);
}
