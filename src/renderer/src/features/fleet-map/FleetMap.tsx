/**
 * The live fleet map: base tiles (when the host names a tile server), the operating zone, and the fleet's
 * canvas layer. Tile failures are expected (offline desks, blocked networks): they are counted for the status
 * bar and otherwise ignored; the zone and the vehicles draw on a plain background regardless.
 */
import 'leaflet/dist/leaflet.css';
import { useEffect, useMemo } from 'react';
import { MapContainer, Polygon, TileLayer, useMap } from 'react-leaflet';
import type { LatLngBoundsExpression, LatLngExpression } from 'leaflet';
import { DEFAULT_SERVICE_AREA } from '../../../../shared/service-area.js';
import type { SelectVehicle, Selection } from '../../app/selection';
import type { FleetStore } from '../../data/fleet-store';
import { FleetLayer } from './FleetLayer';
import type { MapStats } from './map-stats';
import './fleet-map.css';

interface FleetMapProps {
  store: FleetStore;
  tileUrl: string;
  tileAttribution: string;
  selection: Selection;
  onSelect: SelectVehicle;
  stats: MapStats;
}

const area = DEFAULT_SERVICE_AREA;
const AREA_BOUNDS: LatLngBoundsExpression = [
  [area.bounds[0].lat, area.bounds[0].lon],
  [area.bounds[1].lat, area.bounds[1].lon],
];

export function FleetMap({ store, tileUrl, tileAttribution, selection, onSelect, stats }: FleetMapProps) {
  // GeoJSON rings are [lon, lat]; Leaflet wants [lat, lng].
  const zone = useMemo<LatLngExpression[]>(() => area.polygon.map(([lon, lat]) => [lat, lon]), []);
  const tileEvents = useMemo(
    () => ({
      tileerror: () => {
        stats.tileErrors++;
      },
      tileload: () => {
        stats.tilesLoaded++;
      },
    }),
    [stats],
  );

  return (
    <MapContainer
      className="fleet-map"
      bounds={AREA_BOUNDS}
      boundsOptions={{ padding: [24, 24] }}
      minZoom={3}
      maxZoom={19}
      worldCopyJump={false}
    >
      {tileUrl ? <TileLayer url={tileUrl} attribution={tileAttribution} maxZoom={19} eventHandlers={tileEvents} /> : null}
      <Polygon
        positions={zone}
        interactive={false}
        pathOptions={{ color: '#0ea5e9', weight: 2, dashArray: '6 5', fillColor: '#38bdf8', fillOpacity: 0.07 }}
      />
      <FleetLayer store={store} selection={selection} onSelect={onSelect} stats={stats} />
      <InvalidateOnResize />
    </MapContainer>
  );
}

/** Leaflet only tracks window resizes; the split pane resizes the map without one. */
function InvalidateOnResize() {
  const map = useMap();
  useEffect(() => {
    let frame = 0;
    const observer = new ResizeObserver(() => {
      cancelAnimationFrame(frame);
      frame = requestAnimationFrame(() => map.invalidateSize({ pan: false }));
    });
    observer.observe(map.getContainer());
    return () => {
      cancelAnimationFrame(frame);
      observer.disconnect();
    };
  }, [map]);
  return null;
}
