/**
 * The live fleet map: base tiles (when the host names a tile source; the operating area's kept in Cache Storage
 * for offline use, see tile-cache.ts), the zones of the replica's `zones` collection
 * (live: a zone changed on the server redraws without a reload), and the fleet's canvas layer. Tile failures are
 * expected (offline desks, blocked networks): they are counted for the status bar, and when no tile loads the map
 * itself says so (or that it shows the cached tiles only); the zones and the vehicles draw on a plain background
 * regardless.
 */
import 'leaflet/dist/leaflet.css';
import { useEffect, useMemo, useRef, useState } from 'react';
import { MapContainer, Polygon, useMap } from 'react-leaflet';
import type L from 'leaflet';
import type { LatLngBoundsExpression, LatLngExpression } from 'leaflet';
import { DEFAULT_SERVICE_AREA } from '../../../../shared/service-area.js';
import type { ZoneDoc } from '../../../../shared/sync-protocol.js';
import type { SelectVehicle, Selection } from '../../app/selection';
import type { BusinessState } from '../../data/business-state';
import type { BusinessStateIndex } from '../../data/business-state-index';
import type { FleetStore } from '../../data/fleet-store';
import { TrackLayer } from '../replay/TrackLayer';
import { CachedTileLayer, type TileSourceEvent } from './CachedTileLayer';
import { FleetLayer } from './FleetLayer';
import { TileCache, type Bounds } from './tile-cache';
import type { MapStats, TileStatus } from './map-stats';
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
/** the operating area and ~5 km around it: the tiles kept for offline use */
const PAD = 0.05;
const CACHED_AREA: Bounds = [
  [area.bounds[0].lat - PAD, area.bounds[0].lon - PAD],
  [area.bounds[1].lat + PAD, area.bounds[1].lon + PAD],
];

/** one per renderer: the layer is re-created when the tile source changes, the cache stays */
const tileCache = new TileCache(
  {
    caches: typeof caches === 'undefined' ? undefined : caches,
    fetch: (url, init) => fetch(url, init),
    now: () => Date.now(),
  },
  CACHED_AREA,
);

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
  /** a tile came from the cache since the last one the network gave: with errors, the map shows kept tiles only */
  const fromCache = useRef(false);
  useEffect(() => {
    errorsInARow.current = 0;
    fromCache.current = false;
    setTileStatus(tileUrl ? 'loading' : 'none');
  }, [tileUrl]);
  // the status bar and the Health panel read the same status as the notice on the map
  useEffect(() => {
    stats.tileStatus = tileStatus;
    stats.tileStatusSince = Date.now();
  }, [tileStatus, stats]);
  const tileEvents = useMemo(
    () => ({
      tileerror: () => {
        if (++errorsInARow.current >= TILE_ERRORS_BEFORE_NOTICE) setTileStatus(fromCache.current ? 'cached' : 'unreachable');
      },
      tilesource: (e: L.LeafletEvent) => {
        const { source } = e as unknown as TileSourceEvent;
        if (source === 'network' || source === 'direct') {
          // the tile server answers
          errorsInARow.current = 0;
          fromCache.current = false;
          setTileStatus('ok');
        } else {
          fromCache.current = true;
          if (source === 'cache-fallback') setTileStatus('cached');
          else setTileStatus((s) => (s === 'loading' ? 'ok' : s === 'unreachable' ? 'cached' : s));
        }
      },
    }),
    [],
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
        {tileUrl ? <CachedTileLayer url={tileUrl} attribution={tileAttribution} cache={tileCache} events={tileEvents} /> : null}
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
  if (status !== 'unreachable' && status !== 'none' && status !== 'cached') return null;
  let host = '';
  try {
    host = new URL(tileUrl.replace(/\{[a-z]\}/g, '0'), window.location.href).host;
  } catch {
    /* no URL */
  }
  const server = `The tile server${host ? ` (${host})` : ''} cannot be reached`;
  return (
    <div className={`map-notice map-notice-${status}`} role="status" data-testid="tile-notice" data-status={status}>
      <strong>{status === 'none' ? 'No map tiles configured' : status === 'cached' ? 'Offline map' : 'Map tiles unavailable'}</strong>
      <span>
        {status === 'none'
          ? 'No tile source is set (FLEETDESK_TILE_URL, or FLEETDESK_TILE_DIR for tiles on this computer). '
          : status === 'cached'
            ? `${server}: showing the streets kept on this computer; places not seen before stay blank. `
            : `${server} and no streets are kept on this computer for this view. `}
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
