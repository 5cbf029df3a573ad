/**
 * The rental's trip on a small map: the car's track over the rental's period (`GET /ops/v1/vehicles/{id}/track`),
 * drawn by the replay's track layer, still. Online only; offline it says so.
 */
import { useEffect, useState } from 'react';
import { MapContainer, TileLayer } from 'react-leaflet';
import { TRACK_MAX_RANGE_MS, type Track } from '../../../../shared/track.js';
import { useReplica } from '../../data/hooks';
import { TrackLayer } from '../replay/TrackLayer';

const MAX_POINTS = 600;

export function RentalTrack({ vehicleId, from, to, tileUrl }: { vehicleId: string; from: number; to: number; tileUrl: string }) {
  const r = useReplica();
  const [track, setTrack] = useState<Track | 'offline' | undefined>(undefined);
  useEffect(() => {
    if (!r) return;
    const abort = new AbortController();
    const start = Math.max(from, to - TRACK_MAX_RANGE_MS);
    r.staffGet<Track>(
      `/ops/v1/vehicles/${encodeURIComponent(vehicleId)}/track?from=${start}&to=${to}&maxPoints=${MAX_POINTS}`,
      abort.signal,
    ).then(setTrack, () => !abort.signal.aborted && setTrack('offline'));
    return () => abort.abort();
  }, [r, vehicleId, from, to]);
  if (track === undefined) return <div className="muted">reading the track…</div>;
  if (track === 'offline') return <div className="muted">The track needs the server: not available now.</div>;
  if (track.points.length === 0) return <div className="muted">The car reported no positions during this rental.</div>;
  return (
    <div className="evidence-map" data-testid="evidence-map" data-points={track.points.length}>
      <MapContainer
        className="evidence-map-canvas"
        center={[track.points[0]!.lat, track.points[0]!.lon]}
        zoom={14}
        zoomControl={false}
        attributionControl={false}
      >
        {tileUrl ? <TileLayer url={tileUrl} /> : null}
        <TrackLayer track={track} />
      </MapContainer>
    </div>
  );
}
