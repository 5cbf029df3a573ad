/**
 * GBFS 3.0 files under the feed prefix (/gbfs/v3): public, no authentication, CORS-open (public data read by
 * journey planners in browsers), `Cache-Control: max-age=<ttl>`.
 */
import { Type, type FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyRequest } from 'fastify';
import { GBFS_FEEDS, GBFS_TTL_S, type GbfsFeedName } from '../domain/gbfs-documents.js';
import type { GbfsFeed } from '../domain/gbfs-feed.js';

const SUMMARIES: Record<GbfsFeedName, string> = {
  gbfs: 'GBFS discovery: the files of this feed',
  gbfs_versions: 'GBFS versions published',
  system_information: 'Operator, system id, languages, time zone, contact',
  vehicle_types: 'Vehicle types with range and pricing plan',
  vehicle_status: 'Cars not in a trip, with rotating ids (changed after every rental)',
  system_pricing_plans: 'Pricing plans per vehicle type',
  geofencing_zones: 'Operating zone (rides may end inside) as GeoJSON MultiPolygons',
};

/** The shared envelope; `data` per file as in the GBFS 3.0 reference. */
const envelopeSchema = (name: GbfsFeedName) =>
  Type.Object(
    {
      last_updated: Type.String({ format: 'date-time' }),
      ttl: Type.Integer({ minimum: 0 }),
      version: Type.Literal('3.0'),
      data: Type.Object(
        {},
        { additionalProperties: true, description: `see https://github.com/MobilityData/gbfs/blob/v3.0/gbfs.md#${name}json` },
      ),
    },
    { description: `GBFS 3.0 ${name}.json` },
  );

export function gbfsRoutes(feed: GbfsFeed, prefix: string, publicUrl: string | undefined): FastifyPluginAsyncTypebox {
  const base = (request: FastifyRequest) => publicUrl ?? `${request.protocol}://${request.host}`;
  return async (app) => {
    for (const name of GBFS_FEEDS) {
      app.get(
        `/${name}.json`,
        { config: { auth: 'public' }, schema: { tags: ['gbfs'], summary: SUMMARIES[name], response: { 200: envelopeSchema(name) } } },
        async (request, reply) => {
          const root = `${base(request)}${prefix}`;
          const json = await feed.document(name, (n) => `${root}/${n}.json`);
          // A string is sent as is (not through the response schema, which is there for the OpenAPI document).
          return reply
            .header('content-type', 'application/json; charset=utf-8')
            .header('cache-control', `public, max-age=${GBFS_TTL_S[name]}`)
            .header('access-control-allow-origin', '*')
            .send(json as never);
        },
      );
    }
  };
}
