/**
 * Replication endpoints (/sync/v1/:collection/{pull,push,stream}) — RxDB's replication protocol over HTTP + SSE.
 * Role from platform/http/actor.ts; a role without read access gets 403 on pull/stream, pushes from a role
 * without write access come back refused (`syncRejection.code = forbidden_role`). Prose: docs/sync-protocol.md.
 */
import { Type, type FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyReply } from 'fastify';
import { isSyncCollection, SYNC_LIMITS, type PushRow, type SyncCollection, type SyncDocMap } from '../../../../../src/shared/sync-protocol.js';
import { AppError } from '../../../../../src/shared/errors.js';
import { requestActor } from '../../../platform/http/actor.js';
import { problem, sendProblem } from '../../../platform/http/index.js';
import type { SyncService } from '../domain/sync-service.js';
import type { StreamHub } from '../domain/stream-hub.js';

const CollectionParams = Type.Object({ collection: Type.String({ maxLength: 40 }) });
const PullQuery = Type.Object({
  checkpoint: Type.Integer({ minimum: 0, default: 0 }),
  limit: Type.Integer({ minimum: 1, maximum: SYNC_LIMITS.maxPullLimit, default: SYNC_LIMITS.defaultPullLimit }),
});
const StreamQuery = Type.Object({ checkpoint: Type.Optional(Type.Integer({ minimum: 0 })) });

function collectionOf(raw: string): SyncCollection {
  if (!isSyncCollection(raw)) throw new AppError('unknown_collection', `No sync collection ${raw}`, { status: 404 });
  return raw;
}

export function syncRoutes(service: SyncService, hub: StreamHub): FastifyPluginAsyncTypebox {
  return async (app) => {
    app.get('/:collection/pull', { schema: { params: CollectionParams, querystring: PullQuery } }, async (request) => {
      const collection = collectionOf(request.params.collection);
      service.assertRead(collection, requestActor(request));
      const page = await service.pull(collection, request.query.checkpoint, request.query.limit);
      return { documents: page.documents, checkpoint: { seq: page.checkpoint } };
    });

    app.post(
      '/:collection/push',
      {
        schema: { params: CollectionParams },
        // a little above the limit so the handler can answer with its own problem; Fastify's 413 beyond
        bodyLimit: SYNC_LIMITS.maxPushBytes * 2,
        preValidation: async (request, reply) => {
          const length = Number(request.headers['content-length'] ?? 0);
          if (length > SYNC_LIMITS.maxPushBytes) {
            return sendProblem(reply, problem(413, 'push_too_large', `a push is at most ${SYNC_LIMITS.maxPushBytes} bytes; send fewer rows per push`, request.url));
          }
          return undefined;
        },
      },
      async (request, reply: FastifyReply) => {
        const collection = collectionOf(request.params.collection);
        const actor = requestActor(request);
        const rows = request.body;
        if (!Array.isArray(rows)) return sendProblem(reply, problem(400, 'invalid_push', 'the body is an array of {assumedMasterState, newDocumentState}', request.url));
        if (rows.length > SYNC_LIMITS.maxPushRows) {
          return sendProblem(reply, problem(413, 'push_too_many_rows', `a push has at most ${SYNC_LIMITS.maxPushRows} rows (got ${rows.length})`, request.url));
        }
        if (!rows.every((r) => r !== null && typeof r === 'object' && !Array.isArray(r) && 'newDocumentState' in r)) {
          return sendProblem(reply, problem(400, 'invalid_push', 'every row needs newDocumentState', request.url));
        }
        return service.push(collection, rows as Array<PushRow<SyncDocMap[SyncCollection]>>, actor);
      },
    );

    app.get('/:collection/stream', { schema: { params: CollectionParams, querystring: StreamQuery } }, async (request, reply) => {
      const collection = collectionOf(request.params.collection);
      service.assertRead(collection, requestActor(request));
      const checkpoint = request.query.checkpoint ?? (await service.currentSeq());
      if (request.query.checkpoint !== undefined) await service.assertCheckpoint(collection, checkpoint);
      reply.hijack();
      const headers: Record<string, string | number | string[]> = {};
      for (const [k, v] of Object.entries(reply.getHeaders())) if (v !== undefined) headers[k] = v;
      reply.raw.writeHead(200, { ...headers, 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache, no-transform', connection: 'keep-alive', 'x-accel-buffering': 'no' });
      reply.raw.write(': connected\n\n');
      hub.open(collection, reply.raw, checkpoint);
    });
  };
}
