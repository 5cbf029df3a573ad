/**
 * Staff routes for tariffs (/ops/v1/tariffs): every vehicle type with its versions (fleet.read), a new version
 * (tariff.manage), withdrawing a version not yet in force (tariff.manage).
 */
import { Type, type FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { requestActor } from '../../../platform/http/actor.js';
import { staffCan } from '../../../platform/http/route-config.js';
import type { TariffAdmin } from '../domain/tariff-versions.js';

const Id = Type.String({ minLength: 1, maxLength: 100 });
// ranges are the domain's (checkFigures) so that the answer names the field in plain words
const Amount = Type.Integer();

const NewVersionBody = Type.Object(
  {
    effectiveFrom: Type.Optional(Type.Union([Type.Integer(), Type.String({ format: 'date-time' })])),
    currency: Type.String({ maxLength: 3 }),
    perMinuteDrivingCents: Amount,
    perMinuteParkedCents: Amount,
    includedKm: Amount,
    perKmCents: Amount,
    dailyCapCents: Amount,
    reservationFeePerMinuteCents: Amount,
  },
  { additionalProperties: false },
);

const WithdrawBody = Type.Object({ reason: Type.Optional(Type.String({ maxLength: 2000 })) }, { additionalProperties: false });

export function tariffsRoutes(admin: TariffAdmin): FastifyPluginAsyncTypebox {
  return async (app) => {
    app.get('/tariffs', { config: { auth: staffCan('fleet.read') } }, async () => ({ tariffs: await admin.list() }));
    app.post(
      '/tariffs/:vehicleTypeId/versions',
      { config: { auth: staffCan('tariff.manage') }, schema: { params: Type.Object({ vehicleTypeId: Id }), body: NewVersionBody } },
      async (request, reply) => {
        const { effectiveFrom, ...figures } = request.body;
        const at = typeof effectiveFrom === 'string' ? Date.parse(effectiveFrom) : effectiveFrom;
        const version = await admin.create(request.params.vehicleTypeId, { ...figures, effectiveFrom: at }, requestActor(request));
        return reply.code(201).send(version);
      },
    );
    app.post(
      '/tariffs/:vehicleTypeId/versions/:versionId/withdraw',
      {
        config: { auth: staffCan('tariff.manage') },
        schema: { params: Type.Object({ vehicleTypeId: Id, versionId: Id }), body: Type.Optional(WithdrawBody) },
      },
      async (request) =>
        admin.withdraw(request.params.vehicleTypeId, request.params.versionId, requestActor(request), request.body?.reason ?? null),
    );
  };
}
