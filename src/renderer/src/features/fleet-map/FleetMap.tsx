/**
 * The live fleet map: base tiles (when the host names a tile server), the zones of the replica's `zones` collection
 * (live: a zone changed on the server redraws without a reload), and the fleet's canvas layer. Tile failures are
 * expected (offline desks, blocked networks): they are counted for the status bar, and when no tile loads the map
 * itself says so; the zones and the vehicles draw on a plain background regardless.
 */
import 'leaflet/dist/leaflet.css';
import { useEffect, useMemo, useRef, useState } from 'react';
import { MapContainer, Polygon, TileLayer, useMap } from 'react-leaflet';
import type L from 'leaflet';
import type { LatLngBoundsExpression, LatLngExpression } from 'leaflet';
import { DEFAULT_SERVICE_AREA } from '../../../../shared/service-area.js';
import type { ZoneDoc } from '../../../../shared/sync-protocol.js';
import type { SelectVehicle, Selection } from '../../app/selection';
import type { BusinessState } from '../../data/business-state';
import type { BusinessStateIndex } from '../../data/business-state-index';
import type { FleetStore } from '../../data/fleet-store';
import { TrackLayer } from '../replay/TrackLayer';
import { FleetLayer } from './FleetLayer';
import type { MapStats } from './map-stats';
import { ZONE_STYLES } from './zone-styles';
import './fleet-map.css';

interface FleetMapProps {
  store: FleetStore;
  index: BusinessStateIndex;
  zones: readonly ZoneDoc[];
  hiddenStates: ReadonlySet<BusinessState>;
  matches: ((id: string) => boolean) | undefined;
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

/** Tile errors in a row, with none loaded since, before the map says the tiles cannot be had. */
const TILE_ERRORS_BEFORE_NOTICE = 4;

export type TileStatus = 'loading' | 'ok' | 'unreachable' | 'none';

export function FleetMap({
  store,
  index,
  zones,
  hiddenStates,
  matches,
  tileUrl,
  tileAttribution,
  selection,
  onSelect,
  stats,
}: FleetMapProps) {
  const [tileStatus, setTileStatus] = useState<TileStatus>(tileUrl ? 'loading' : 'none');
  const errorsInARow = useRef(0);
  useEffect(() => {
    errorsInARow.current = 0;
    setTileStatus(tileUrl ? 'loading' : 'none');
  }, [tileUrl]);
  const tileEvents = useMemo(
    () => ({
      tileerror: () => {
        stats.tileErrors++;
        if (++errorsInARow.current >= TILE_ERRORS_BEFORE_NOTICE) setTileStatus('unreachable');
      },
      tileload: () => {
        stats.tilesLoaded++;
        errorsInARow.current = 0;
        setTileStatus('ok');
      },
    }),
    [stats],
  );

  return (
    <div className="fleet-map-frame" data-testid="map-frame" data-tile-status={tileStatus}>
      <MapContainer
        className="fleet-map"
        bounds={AREA_BOUNDS}
        boundsOptions={{ padding: [24, 24] }}
        minZoom={3}
        maxZoom={19}
        worldCopyJump={false}
      >
        {tileUrl ? <TileLayer url={tileUrl} attribution={tileAttribution} maxZoom={19} eventHandlers={tileEvents} /> : null}
        {zones.map((z) => (
          <ZonePolygon key={z.id} zone={z} />
        ))}
        <FleetLayer
          store={store}
          index={index}
          hiddenStates={hiddenStates}
          matches={matches}
          selection={selection}
          onSelect={onSelect}
          stats={stats}
        />
        <TrackLayer />
        <InvalidateOnResize />
      </MapContainer>
      <TileNotice status={tileStatus} tileUrl={tileUrl} />
    </div>
  );
}

function ZonePolygon({ zone }: { zone: ZoneDoc }) {
  // GeoJSON rings are [lon, lat]; Leaflet wants [lat, lng].
  const positions = useMemo<LatLngExpression[]>(
    () => zone.polygon.filter((p) => p.length >= 2).map(([lon, lat]) => [lat!, lon!] as [number, number]),
    [zone.polygon],
  );
  const style = ZONE_STYLES[zone.kind] ?? ZONE_STYLES.operating;
  return (
    <Polygon
      positions={positions}
      interactive={false}
      pathOptions={{ ...style, className: `fleet-zone fleet-zone-${zone.kind}` }}
      eventHandlers={{ add: (e) => (e.target as L.Polygon).getElement()?.setAttribute('data-zone-id', zone.id) }}
    />
  );
}

function TileNotice({ status, tileUrl }: { status: TileStatus; tileUrl: string }) {
  if (status !== 'unreachable' && status !== 'none') return null;
  let host = '';
  try {
    host = new URL(tileUrl.replace(/\{[a-z]\}/g, '0')).host;
  } catch {
    /* no URL */
  }
  return (
    <div className="map-notice" role="status" data-testid="tile-notice">
      <strong>{status === 'none' ? 'No map tiles configured' : 'Map tiles unavailable'}</strong>
      <span>
        {status === 'none'
          ? 'No tile source is set (FLEETDESK_TILE_URL). '
          : `The tile server${host ? ` (${host})` : ''} cannot be reached, so the map has no streets. `}
        Cars and zones are still drawn at their true positions.
      </span>
    </div>
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
