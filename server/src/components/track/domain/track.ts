/**
 * A car's track over a range: checks the range (from ≤ to, at most TRACK_MAX_RANGE_MS; bad input → 400 problem),
 * then asks the repository for the extent, the points (thinned by time buckets to at most `maxPoints`), the stops
 * and the offline gaps — the range's start and end without a sample count as gaps too.
 */
import { AppError } from '../../../../../src/shared/errors.js';
import { parseIsoInstant } from '../../../../../src/shared/instant.js';
import { TRACK_DEFAULT_POINTS, TRACK_DEFAULT_RANGE_MS, TRACK_MAX_RANGE_MS, type Track } from '../../../../../src/shared/track.js';
import type { TrackQuery, TrackSpan } from '../model.js';
import type { TrackPoint } from '../../../../../src/shared/track.js';

export interface TrackStore {
  vehicleExists(vehicleId: string): Promise<boolean>;
  readSpan(query: TrackQuery): Promise<TrackSpan>;
  readPoints(query: TrackQuery, span: TrackSpan, bucketMs: number): Promise<TrackPoint[]>;
  readStops(query: TrackQuery): Promise<Track['stops']>;
  readGaps(query: TrackQuery): Promise<Track['gaps']>;
}

export interface TrackRequest {
  vehicleId: string;
  from?: string;
  to?: string;
  maxPoints?: number;
}

const bad = (code: string, message: string) => new AppError(code, message, { status: 400 });

/** epoch ms digits or an ISO-8601 instant with a zone */
function parseInstant(value: string, name: string): number {
  const n = /^\d{1,16}$/.test(value) ? Number(value) : parseIsoInstant(value);
  if (!Number.isFinite(n)) throw bad('invalid_instant', `${name} must be epoch ms or an ISO-8601 date-time with a zone`);
  return n;
}

/**
 * The bucket width that leaves at most `maxPoints` points (one per bucket over [first, last], plus the last
 * sample), or 0 when every sample fits.
 */
export function bucketWidth(span: TrackSpan, maxPoints: number): number {
  if (span.samples <= maxPoints || span.first === null || span.last === null) return 0;
  return Math.max(1, Math.ceil((span.last - span.first + 1) / (maxPoints - 1)));
}

export class TrackService {
  constructor(
    private readonly store: TrackStore,
    private readonly gapMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  async read(request: TrackRequest): Promise<Track> {
    const to = request.to === undefined ? this.now() : parseInstant(request.to, 'to');
    const from = request.from === undefined ? to - TRACK_DEFAULT_RANGE_MS : parseInstant(request.from, 'from');
    if (from > to) throw bad('invalid_range', '`from` is after `to`');
    if (to - from > TRACK_MAX_RANGE_MS) throw bad('range_too_long', `a track covers at most ${TRACK_MAX_RANGE_MS / 86_400_000} days`);
    if (!(await this.store.vehicleExists(request.vehicleId)))
      throw new AppError('vehicle_not_found', `vehicle ${request.vehicleId} not found`, { status: 404 });
    const query: TrackQuery = {
      vehicleId: request.vehicleId,
      from,
      to,
      maxPoints: request.maxPoints ?? TRACK_DEFAULT_POINTS,
      gapMs: this.gapMs,
    };
    const span = await this.store.readSpan(query);
    const bucketMs = bucketWidth(span, query.maxPoints);
    const [points, stops, inner] = await Promise.all([
      span.samples ? this.store.readPoints(query, span, bucketMs) : Promise.resolve([]),
      span.samples ? this.store.readStops(query) : Promise.resolve([]),
      span.samples ? this.store.readGaps(query) : Promise.resolve([]),
    ]);
    const gaps: Track['gaps'] = [];
    if (span.first === null || span.last === null) {
      if (to - from > this.gapMs) gaps.push({ from, to });
    } else {
      if (span.first - from > this.gapMs) gaps.push({ from, to: span.first });
      gaps.push(...inner);
      if (to - span.last > this.gapMs) gaps.push({ from: span.last, to });
    }
    return { vehicleId: request.vehicleId, from, to, samples: span.samples, bucketMs, points, stops, gaps };
  }
}
