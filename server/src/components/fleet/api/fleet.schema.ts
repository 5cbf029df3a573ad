/** HTTP schemas of the fleet routes; the compile-time checks below keep them equal to src/shared/fleet.ts. */
import { Type, type Static } from '@fastify/type-provider-typebox';
import type { VehicleInfo, VehicleLive } from '../../../../../src/shared/fleet.js';

export const VehicleInfoSchema = Type.Object({
  id: Type.String(),
  plate: Type.String(),
  make: Type.String(),
  model: Type.String(),
  energyType: Type.Union([Type.Literal('fuel'), Type.Literal('electric')]),
  homeZone: Type.String(),
});

export const VehicleLiveSchema = Type.Object({
  id: Type.String(),
  lat: Type.Number(),
  lon: Type.Number(),
  speedKph: Type.Number(),
  headingDeg: Type.Number(),
  energyPct: Type.Number({ description: 'fuel or battery level, whichever the vehicle has (0–100)' }),
  odometerKm: Type.Number(),
  ignition: Type.Boolean(),
  locked: Type.Boolean(),
  doorsClosed: Type.Boolean(),
  online: Type.Boolean({ description: 'last status was online and the vehicle was heard from within the heartbeat timeout' }),
  seq: Type.Integer(),
  deviceTs: Type.Integer({ description: 'device clock, epoch ms' }),
  receivedAt: Type.Integer({ description: 'server clock, epoch ms: last time the vehicle was heard from' }),
  staleAgeMs: Type.Optional(
    Type.Integer({
      description:
        'present when the server cannot vouch for this state (its broker is down, or the car has not published since the broker came back): the age of the state in ms; the car is not offline for that',
    }),
  ),
});

export const VehicleListResponse = Type.Object({ vehicles: Type.Array(VehicleInfoSchema) });
export const FleetLiveResponse = Type.Object({ vehicles: Type.Array(VehicleLiveSchema) });

// Both directions: the schema neither drops nor invents a field of the shared types.
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const sameInfo: Same<Static<typeof VehicleInfoSchema>, VehicleInfo> = true;
const sameLive: Same<Static<typeof VehicleLiveSchema>, VehicleLive> = true;
void sameInfo;
void sameLive;
