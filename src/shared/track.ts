/**
 * A vehicle's track for replay (`GET /ops/v1/vehicles/{id}/track?from=&to=&maxPoints=`): the path from the telemetry
 * history, thinned to at most `maxPoints`, with its stops and offline gaps explicit. Declared once for the server's
 * route schema and the desk.
 */
import { Type, type Static } from '@sinclair/typebox';

/** The longest range one request may ask for. */
export const TRACK_MAX_RANGE_MS = 7 * 24 * 3_600_000;
/** The range when none is given: the last hour. */
export const TRACK_DEFAULT_RANGE_MS = 3_600_000;
export const TRACK_DEFAULT_POINTS = 2_000;
export const TRACK_MIN_POINTS = 10;
export const TRACK_MAX_POINTS = 10_000;
/** Standing still: slower than this… */
export const STOP_SPEED_KPH = 1;
/** …for at least this long is a stop. */
export const STOP_MIN_MS = 120_000;

const EpochMs = Type.Integer({ description: 'epoch ms (server receive time)' });

export const TrackPointSchema = Type.Object({
  at: EpochMs,
  lat: Type.Number(),
  lon: Type.Number(),
  speedKph: Type.Number(),
  ignition: Type.Boolean(),
});
export type TrackPoint = Static<typeof TrackPointSchema>;

export const TrackSchema = Type.Object({
  vehicleId: Type.String(),
  from: EpochMs,
  to: EpochMs,
  /** samples stored in the range */
  samples: Type.Integer(),
  /** 0: every sample is in `points`; else one sample per time bucket of this width (the first and last always) */
  bucketMs: Type.Integer(),
  points: Type.Array(TrackPointSchema),
  /** slower than STOP_SPEED_KPH for at least STOP_MIN_MS (from every sample, not only the points) */
  stops: Type.Array(Type.Object({ from: EpochMs, to: EpochMs, lat: Type.Number(), lon: Type.Number() })),
  /**
   * no sample for longer than the server's heartbeat timeout (the car counted offline), including at the range's
   * start and end; the path is not drawn across a gap
   */
  gaps: Type.Array(Type.Object({ from: EpochMs, to: EpochMs })),
});
export type Track = Static<typeof TrackSchema>;
