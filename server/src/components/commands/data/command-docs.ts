/**
 * The `commands` table as the replica's read-only `commands` collection (read by the sync component's pull). Each
 * document carries its transitions and the issuer's staff name, so the desk follows a command live (every
 * transition bumps the command's `server_seq`) and offline, without a read per command. A cancellation's reason
 * and canceller come from its audit entry (written in the transition's transaction).
 */
import { MAX_COMMAND_TRANSITIONS, type CommandDoc, type CommandTransition } from '../../../../../src/shared/sync-protocol.js';
import { json, ms, msOrNull, str, strOrNull, type ReplicatedRow, type ReplicatedTable } from '../../../platform/db/replicated-rows.js';

const TRANSITIONS_JSON = `coalesce((
    select jsonb_agg(jsonb_build_object('to', x.to_status, 'at', x.at, 'detail', x.detail, 'by', x.by) order by x.id)
      from (select tr.id, tr.to_status, tr.at,
                   case when tr.to_status = 'cancelled' then coalesce(al.reason, tr.detail) else tr.detail end as detail,
                   case when tr.to_status = 'cancelled' then coalesce(canceller.name, al.actor) end as by
              from command_transitions tr
              left join lateral (select a.actor, a.reason from audit_log a
                                  where tr.to_status = 'cancelled' and a.target_type = 'command' and a.target_id = tr.command_id
                                    and a.action = 'command.cancelled' order by a.id desc limit 1) al on true
              left join staff_accounts canceller on canceller.id = al.actor
             where tr.command_id = t.command_id order by tr.id limit ${MAX_COMMAND_TRANSITIONS}) x), '[]'::jsonb)`;

export const commandDocs: ReplicatedTable<CommandDoc> = {
  table: 'commands',
  idColumn: 'command_id',
  rowJson: `to_jsonb(t) || jsonb_build_object(
      'issued_by_name', (select s.name from staff_accounts s where s.id = t.issued_by),
      'transitions', ${TRANSITIONS_JSON})`,
  toDoc: (r) => ({
    id: str(r.command_id),
    updatedAt: ms(r.updated_at),
    vehicleId: str(r.vehicle_id),
    type: str(r.type),
    status: str(r.status),
    reason: str(r.reason),
    issuedBy: str(r.issued_by),
    issuedByName: strOrNull(r.issued_by_name)?.slice(0, 200) ?? null,
    createdAt: ms(r.created_at),
    expiresAt: ms(r.expires_at),
    finishedAt: msOrNull(r.finished_at),
    lastResultReason: r.last_result_reason === null || r.last_result_reason === undefined ? null : str(r.last_result_reason).slice(0, 500),
    transitions: transitionsOf(r),
  }),
};

function transitionsOf(r: ReplicatedRow): CommandTransition[] {
  const raw = r.transitions === null || r.transitions === undefined ? [] : json<unknown>(r.transitions);
  if (!Array.isArray(raw)) return [];
  return (raw as Array<Record<string, unknown>>).slice(0, MAX_COMMAND_TRANSITIONS).map((t) => ({
    to: str(t.to).slice(0, 20),
    at: ms(t.at),
    detail: strOrNull(t.detail)?.slice(0, 500) ?? null,
    by: strOrNull(t.by)?.slice(0, 200) ?? null,
  }));
}
