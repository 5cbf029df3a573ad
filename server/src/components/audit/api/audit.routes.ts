/**
 * The audit log for staff with `audit.read`, newest first:
 * - `GET /ops/v1/audit?actor=&action=&targetType=&targetId=&from=&to=&beforeId=&limit=` — one page, and the
 *   `beforeId` of the next (null: no more);
 * - `GET /ops/v1/audit.csv?` the same filters — every matching entry as a CSV file, streamed page by page;
 * - `GET /ops/v1/audit/vocabulary` — the actions and target types that occur (the viewer's filter lists).
 */
import { Readable } from 'node:stream';
import { Type, type FastifyPluginAsyncTypebox, type Static } from '@fastify/type-provider-typebox';
import { AppError } from '../../../../../src/shared/errors.js';
import type { AuditQuery, AuditRecord } from '../model.js';
import { csvLine } from '../../../platform/http/csv.js';
import { staffCan } from '../../../platform/http/route-config.js';

const AuditEntrySchema = Type.Object({
  id: Type.Integer(),
  at: Type.Integer({ description: 'epoch ms' }),
  actor: Type.String(),
  role: Type.String(),
  action: Type.String(),
  targetType: Type.String(),
  targetId: Type.String(),
  reason: Type.Union([Type.String(), Type.Null()]),
  before: Type.Unknown({ description: 'state before the change (null for a creation)' }),
  after: Type.Unknown({ description: 'state after the change' }),
});

const EpochMs = (description: string) => Type.Integer({ minimum: 0, maximum: 8_640_000_000_000_000, description });
const Filters = {
  actor: Type.Optional(Type.String({ minLength: 1, maxLength: 200, description: 'a staff id, `system`, or a vehicle id' })),
  action: Type.Optional(
    Type.String({
      minLength: 1,
      maxLength: 100,
      pattern: '^[a-z0-9_]+(\\.([a-z0-9_]+|\\*))*$',
      description: 'an action (`payment.refund_requested`), or all of an area (`payment.*`)',
    }),
  ),
  targetType: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
  targetId: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
  from: Type.Optional(EpochMs('entries at or after this time (epoch ms)')),
  to: Type.Optional(EpochMs('entries before this time (epoch ms)')),
};
const AuditQuerySchema = Type.Object(
  { ...Filters, beforeId: Type.Optional(Type.Integer({ minimum: 1 })), limit: Type.Integer({ minimum: 1, maximum: 1000, default: 100 }) },
  { additionalProperties: false },
);
const AuditCsvQuerySchema = Type.Object(Filters, { additionalProperties: false });

const CSV_COLUMNS = ['id', 'at', 'actor', 'role', 'action', 'targetType', 'targetId', 'reason', 'before', 'after'] as const;
const CSV_PAGE = 1000;

export interface AuditReads {
  list(query: AuditQuery): Promise<AuditRecord[]>;
  vocabulary(): Promise<{ actions: string[]; targetTypes: string[] }>;
}

function checkRange(query: { from?: number; to?: number }): void {
  if (query.from !== undefined && query.to !== undefined && query.from >= query.to) {
    throw new AppError('invalid_time_range', 'The start of the time range (from) must be before its end (to).', { status: 400 });
  }
}

export function auditRoutes(reads: AuditReads): FastifyPluginAsyncTypebox {
  return async (app) => {
    app.get(
      '/audit',
      {
        config: { auth: staffCan('audit.read') },
        schema: {
          tags: ['audit'],
          summary: 'Audit entries, newest first, filtered by who, what, which target and when',
          querystring: AuditQuerySchema,
          response: {
            200: Type.Object({
              entries: Type.Array(AuditEntrySchema),
              nextBeforeId: Type.Union([Type.Integer(), Type.Null()], { description: 'beforeId of the next page; null: no more' }),
            }),
          },
        },
      },
      async (request) => {
        checkRange(request.query);
        // one more than asked tells whether there is a next page
        const rows = await reads.list({ ...request.query, limit: request.query.limit + 1 });
        const entries = rows.slice(0, request.query.limit);
        return { entries, nextBeforeId: rows.length > entries.length ? entries[entries.length - 1]!.id : null };
      },
    );

    app.get(
      '/audit.csv',
      {
        config: { auth: staffCan('audit.read') },
        schema: {
          tags: ['audit'],
          summary: 'Every audit entry the filters leave, newest first, as CSV (formula-looking cells neutralised)',
          querystring: AuditCsvQuerySchema,
          produces: ['text/csv'],
        },
      },
      async (request, reply) => {
        checkRange(request.query);
        const filters: Static<typeof AuditCsvQuerySchema> = request.query;
        async function* lines() {
          yield csvLine(CSV_COLUMNS);
          let beforeId: number | undefined;
          for (;;) {
            const page = await reads.list({ ...filters, beforeId, limit: CSV_PAGE });
            for (const e of page)
              yield csvLine([
                e.id,
                new Date(e.at).toISOString(),
                e.actor,
                e.role,
                e.action,
                e.targetType,
                e.targetId,
                e.reason,
                e.before,
                e.after,
              ]);
            if (page.length < CSV_PAGE) return;
            beforeId = page[page.length - 1]!.id;
          }
        }
        const stamp = new Date().toISOString().slice(0, 19).replace(/[:T]/g, '-');
        return reply
          .header('content-type', 'text/csv; charset=utf-8')
          .header('content-disposition', `attachment; filename="fleetdesk-audit-${stamp}.csv"`)
          .header('cache-control', 'no-store')
          .send(Readable.from(lines()));
      },
    );

    app.get(
      '/audit/vocabulary',
      {
        config: { auth: staffCan('audit.read') },
        schema: {
          tags: ['audit'],
          summary: 'The actions and target types that occur in the audit log',
          response: { 200: Type.Object({ actions: Type.Array(Type.String()), targetTypes: Type.Array(Type.String()) }) },
        },
      },
      async () => reads.vocabulary(),
    );
  };
}
