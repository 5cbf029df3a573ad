/**
 * Replication endpoints — RxDB's replication protocol over HTTP + SSE: /sync/v1/:collection/{pull,push,stream}
 * and the multiplexed /sync/v1/stream?collections=a,b (one connection for every collection). Signed-in staff
 * only (the auth hook; actor and role from the staff token via platform/http/actor.ts); a role without read
 * access gets 403 on pull/stream, pushes from a role without write access come back refused
 * (`syncRejection.code = forbidden_role`). Prose: docs/sync-protocol.md.
 */
import { Type, type FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { OperatorRole } from '../../../../../src/shared/operator-role.js';
import {
  isSyncCollection,
  SYNC_LIMITS,
  type PullResponse,
  type PushRow,
  type SyncCollection,
  type SyncDocMap,
} from '../../../../../src/shared/sync-protocol.js';
import { AppError } from '../../../../../src/shared/errors.js';
import { requestActor } from '../../../platform/http/actor.js';
import { problem, sendProblem } from '../../../platform/http/index.js';
import { staffCan } from '../../../platform/http/route-config.js';
import type { SyncService } from '../domain/sync-service.js';
import type { StreamHub } from '../domain/stream-hub.js';

const CollectionParams = Type.Object({ collection: Type.String({ maxLength: 40 }) });
const PullQuery = Type.Object({
  checkpoint: Type.Integer({ minimum: 0, default: 0 }),
  limit: Type.Integer({ minimum: 1, maximum: SYNC_LIMITS.maxPullLimit, default: SYNC_LIMITS.defaultPullLimit }),
  /** the `floor` the answer to this client's pull from checkpoint 0 gave: older tombstones are not sent */
  floor: Type.Integer({ minimum: 0, default: 0 }),
});
const StreamQuery = Type.Object({ checkpoint: Type.Optional(Type.Integer({ minimum: 0 })) });
const MultiStreamQuery = Type.Object({
  /** comma-separated collection names */
  collections: Type.String({ minLength: 1, maxLength: 400 }),
  /** optional comma-separated checkpoints, one per collection in the same order (empty = from now) */
  checkpoints: Type.Optional(Type.String({ maxLength: 400 })),
});
const AUTH = { auth: staffCan('fleet.read') };

function collectionOf(raw: string): SyncCollection {
  if (!isSyncCollection(raw)) throw new AppError('unknown_collection', `No sync collection ${raw}`, { status: 404 });
  return raw;
}

export function syncRoutes(service: SyncService, hub: StreamHub): FastifyPluginAsyncTypebox {
  return async (app) => {
    app.get('/:collection/pull', { config: AUTH, schema: { params: CollectionParams, querystring: PullQuery } }, async (request) => {
      const collection = collectionOf(request.params.collection);
      const actor = requestActor(request);
      service.assertRead(collection, actor);
      const { checkpoint, limit, floor } = request.query;
      const page = await service.pull(collection, checkpoint, limit, actor.role as OperatorRole, floor);
      const historyDays = service.historyDaysOf(collection);
      return {
        documents: page.documents,
        checkpoint: { seq: page.checkpoint },
        ...(page.floor !== undefined ? { floor: page.floor } : {}),
        ...(historyDays !== undefined ? { historyDays } : {}),
      } satisfies PullResponse<unknown>;
    });

    app.post(
      '/:collection/push',
      {
        config: AUTH,
        schema: { params: CollectionParams },
        // a little above the limit so the handler can answer with its own problem; Fastify's 413 beyond
        bodyLimit: SYNC_LIMITS.maxPushBytes * 2,
        preValidation: async (request, reply) => {
          const length = Number(request.headers['content-length'] ?? 0);
          if (length > SYNC_LIMITS.maxPushBytes) {
            return sendProblem(
              reply,
              problem(413, 'push_too_large', `a push is at most ${SYNC_LIMITS.maxPushBytes} bytes; send fewer rows per push`, request.url),
            );
          }
          return undefined;
        },
      },
      async (request, reply: FastifyReply) => {
        const collection = collectionOf(request.params.collection);
        const actor = requestActor(request);
        const rows = request.body;
        if (!Array.isArray(rows))
          return sendProblem(
            reply,
            problem(400, 'invalid_push', 'the body is an array of {assumedMasterState, newDocumentState}', request.url),
          );
        if (rows.length > SYNC_LIMITS.maxPushRows) {
          return sendProblem(
            reply,
            problem(413, 'push_too_many_rows', `a push has at most ${SYNC_LIMITS.maxPushRows} rows (got ${rows.length})`, request.url),
          );
        }
        if (!rows.every((r) => r !== null && typeof r === 'object' && !Array.isArray(r) && 'newDocumentState' in r)) {
          return sendProblem(reply, problem(400, 'invalid_push', 'every row needs newDocumentState', request.url));
        }
        return service.push(collection, rows as Array<PushRow<SyncDocMap[SyncCollection]>>, actor);
      },
    );

    app.get(
      '/:collection/stream',
      { config: AUTH, schema: { params: CollectionParams, querystring: StreamQuery } },
      async (request, reply) => {
        const collection = collectionOf(request.params.collection);
        const actor = requestActor(request);
        service.assertRead(collection, actor);
        const checkpoint = request.query.checkpoint ?? (await service.currentSeq());
        if (request.query.checkpoint !== undefined) await service.assertCheckpoint(collection, checkpoint);
        startEventStream(reply);
        hub.open([{ collection, checkpoint }], actor.role as OperatorRole, reply.raw, false, tokenExpiry(request));
      },
    );

    app.get('/stream', { config: AUTH, schema: { querystring: MultiStreamQuery } }, async (request, reply) => {
      const names = request.query.collections.split(',');
      const collections = names.map(collectionOf);
      if (new Set(collections).size !== collections.length)
        throw new AppError('validation', 'a collection is listed twice', { status: 400 });
      const raw = request.query.checkpoints;
      const given = raw === undefined || raw === '' ? [] : raw.split(',');
      if (given.length > 0 && given.length !== collections.length) {
        throw new AppError('validation', 'checkpoints: one per collection, in the same order (or none)', { status: 400 });
      }
      const checkpoints = given.map((c) => {
        if (!/^\d{1,16}$/.test(c))
          throw new AppError('validation', `checkpoints: ${c.slice(0, 20)} is not a sequence number`, { status: 400 });
        return Number(c);
      });
      const actor = requestActor(request);
      for (const c of collections) service.assertRead(c, actor);
      const now = checkpoints.length ? 0 : await service.currentSeq();
      for (const [i, c] of collections.entries()) if (checkpoints.length) await service.assertCheckpoint(c, checkpoints[i]!);
      startEventStream(reply);
      hub.open(
        collections.map((collection, i) => ({ collection, checkpoint: checkpoints.length ? checkpoints[i]! : now })),
        actor.role as OperatorRole,
        reply.raw,
        true,
        tokenExpiry(request),
      );
    });
  };
}

/** When the caller's access token expires (a stream must not outlive it). */
function tokenExpiry(request: FastifyRequest): number | undefined {
  const p = request.principal;
  return p.kind === 'staff' ? p.expiresAt : undefined;
}

/** Takes the response over for Server-Sent Events (keeping the headers hooks set, e.g. CORS). */
function startEventStream(reply: FastifyReply): void {
  reply.hijack();
  const headers: Record<string, string | number | string[]> = {};
  for (const [k, v] of Object.entries(reply.getHeaders())) if (v !== undefined) headers[k] = v;
  reply.raw.writeHead(200, {
    ...headers,
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache, no-transform',
    connection: 'keep-alive',
    'x-accel-buffering': 'no',
  });
  reply.raw.write(': connected\n\n');
}
