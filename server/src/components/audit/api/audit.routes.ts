/** `GET /ops/v1/audit?targetType=&targetId=&limit=&beforeId=` — newest first. Unauthenticated until staff auth lands. */
import { Type, type FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { AuditQuery, AuditRecord } from '../model.js';
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

const AuditQuerySchema = Type.Object(
  {
    targetType: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
    targetId: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
    beforeId: Type.Optional(Type.Integer({ minimum: 1 })),
    limit: Type.Integer({ minimum: 1, maximum: 1000, default: 100 }),
  },
  { additionalProperties: false },
);

/** `list` reads the log (wired by index.ts: the component has no domain logic between route and repository). */
export function auditRoutes(list: (query: AuditQuery) => Promise<AuditRecord[]>): FastifyPluginAsyncTypebox {
  return async (app) => {
    app.get(
      '/audit',
      {
        config: { auth: staffCan('audit.read') },
        schema: { querystring: AuditQuerySchema, response: { 200: Type.Object({ entries: Type.Array(AuditEntrySchema) }) } },
      },
      async (request) => ({ entries: await list(request.query) }),
    );
  };
}
