/**
 * The trail replay's state, shared by the vehicle card's controls (TrackReplay), the map's track layer (TrackLayer)
 * and the timeline drawer (the entry of the replayed moment): the loaded track, the replayed instant, playing or
 * not and how fast. One small external store (useSyncExternalStore), and the pure geometry of a track.
 */
import { useSyncExternalStore } from 'react';
import type { Track, TrackPoint } from '../../../../shared/track.js';

export const REPLAY_SPEEDS = [1, 5, 10, 30, 60] as const;

export interface ReplayState {
  vehicleId: string;
  track: Track;
  /** the replayed instant, epoch ms, within [track.from, track.to] */
  at: number;
  playing: boolean;
  speed: number;
}

let state: ReplayState | undefined;
const listeners = new Set<() => void>();

export const replayStore = {
  get: (): ReplayState | undefined => state,
  set(next: ReplayState | undefined): void {
    state = next;
    for (const l of listeners) l();
  },
  update(change: Partial<ReplayState>): void {
    if (state) replayStore.set({ ...state, ...change });
  },
  subscribe(listener: () => void): () => void {
    listeners.add(listener);
    return () => listeners.delete(listener);
  },
};

export function useReplay(): ReplayState | undefined {
  return useSyncExternalStore(replayStore.subscribe, replayStore.get);
}

/** The path as drawn: runs of points, broken where the car was offline (a gap lies between two points). */
export function segments(track: Pick<Track, 'points' | 'gaps'>): TrackPoint[][] {
  const out: TrackPoint[][] = [];
  let run: TrackPoint[] = [];
  for (const p of track.points) {
    const prev = run.at(-1);
    if (prev && track.gaps.some((g) => g.from >= prev.at && g.to <= p.at)) {
      out.push(run);
      run = [];
    }
    run.push(p);
  }
  if (run.length) out.push(run);
  return out;
}

/**
 * Where the car was at `at`: between two points, on the line between them in proportion to time — but across an
 * offline gap it stays where it was last seen. Before the first point: the first; after the last: the last.
 */
export function positionAt(track: Pick<Track, 'points' | 'gaps'>, at: number): TrackPoint | undefined {
  const pts = track.points;
  if (!pts.length) return undefined;
  if (at <= pts[0]!.at) return pts[0];
  if (at >= pts.at(-1)!.at) return pts.at(-1);
  let lo = 0;
  let hi = pts.length - 1;
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    if (pts[mid]!.at <= at) lo = mid;
    else hi = mid;
  }
  const a = pts[lo]!;
  const b = pts[hi]!;
  if (track.gaps.some((g) => g.from >= a.at && g.to <= b.at)) return a;
  const f = b.at === a.at ? 0 : (at - a.at) / (b.at - a.at);
  return { ...a, at, lat: a.lat + (b.lat - a.lat) * f, lon: a.lon + (b.lon - a.lon) * f };
}
