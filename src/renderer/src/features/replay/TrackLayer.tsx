/**
 * The replayed track on the fleet map: the path (broken at offline gaps), its stops, its first and last point, and
 * the car's marker at the replayed instant. A layer of its own inside the map (FleetMap renders it, nothing else
 * of the map changes); the map fits the track when one is loaded.
 */
import type L from 'leaflet';
import { useEffect, useMemo, useRef } from 'react';
import { CircleMarker, Polyline, Tooltip, useMap } from 'react-leaflet';
import { formatClock, formatDuration } from '../../lib/format';
import type { Track } from '../../../../shared/track.js';
import { positionAt, segments, useReplay } from './replay-store';

const PATH = { color: '#38bdf8', weight: 3, opacity: 0.85 };
const STOP = { color: '#fbbf24', fillColor: '#fbbf24', fillOpacity: 0.6, weight: 1 };
const END = { color: '#e2e8f0', fillColor: '#0f172a', fillOpacity: 1, weight: 2 };
const CAR = { color: '#0f172a', fillColor: '#38bdf8', fillOpacity: 1, weight: 2 };

/**
 * `track` given: that track, drawn still (no replayed instant, fitted into the whole map: a rental's trip in its
 * evidence view); else the replay's.
 */
export function TrackLayer({ track: given }: { track?: Track } = {}) {
  const replayState = useReplay();
  const replay = given ? undefined : replayState;
  const map = useMap();
  const track = given ?? replay?.track;
  const runs = useMemo(() => (track ? segments(track) : []), [track]);
  // Each drawn run says where Leaflet's line starts and ends (`data-first`, `data-last`: "lat,lon"), for the people
  // and tests reading the page. Set after the lines are on the map (children's effects run first).
  const lines = useRef<Array<L.Polyline | null>>([]);
  useEffect(() => {
    const at = (ll: L.LatLng | undefined) => (ll ? `${ll.lat.toFixed(6)},${ll.lng.toFixed(6)}` : '');
    for (const line of lines.current) {
      const el = line?.getElement();
      const lls = line?.getLatLngs() as L.LatLng[] | undefined;
      el?.setAttribute('data-first', at(lls?.[0]));
      el?.setAttribute('data-last', at(lls?.at(-1)));
    }
  }, [runs]);
  // the vehicle card covers the map's right part: the track is fitted into what it leaves
  useEffect(() => {
    if (!track?.points.length) return;
    const lats = track.points.map((p) => p.lat);
    const lons = track.points.map((p) => p.lon);
    map.fitBounds(
      [
        [Math.min(...lats), Math.min(...lons)],
        [Math.max(...lats), Math.max(...lons)],
      ],
      // still (not animated): the evidence drawer may close at once, and Leaflet fails on a map removed mid-animation
      given ? { padding: [16, 16], maxZoom: 17, animate: false } : { paddingTopLeft: [40, 40], paddingBottomRight: [360, 40], maxZoom: 17 },
    );
  }, [track, map, given]);
  lines.current.length = runs.length;
  if (!track) return null;
  const car = replay ? positionAt(track, replay.at) : undefined;
  const first = track.points[0];
  const last = track.points.at(-1);
  return (
    <>
      {runs.map((run, i) => (
        <Polyline
          key={`run-${i}`}
          ref={(line) => {
            lines.current[i] = line;
          }}
          positions={run.map((p) => [p.lat, p.lon] as [number, number])}
          pathOptions={PATH}
          className="track-path"
        />
      ))}
      {track.stops.map((s) => (
        <CircleMarker key={`stop-${s.from}`} center={[s.lat, s.lon]} radius={6} pathOptions={STOP}>
          <Tooltip>
            stopped {formatClock(s.from)}–{formatClock(s.to)} ({formatDuration(s.to - s.from)})
          </Tooltip>
        </CircleMarker>
      ))}
      {first ? (
        <CircleMarker center={[first.lat, first.lon]} radius={5} pathOptions={END}>
          <Tooltip>start {formatClock(first.at)}</Tooltip>
        </CircleMarker>
      ) : null}
      {last && last !== first ? (
        <CircleMarker center={[last.lat, last.lon]} radius={5} pathOptions={END}>
          <Tooltip>end {formatClock(last.at)}</Tooltip>
        </CircleMarker>
      ) : null}
      {car ? <CircleMarker center={[car.lat, car.lon]} radius={8} pathOptions={CAR} className="track-car" /> : null}
    </>
  );
}
