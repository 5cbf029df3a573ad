/**
 * The Zones screen's map: every zone drawn as the fleet map draws it (zone-styles.ts), and the one being drawn or
 * edited handled by leaflet-geoman — drawing a new outline click by click (finished by clicking its first point),
 * moving, adding and removing vertices of the edited one. The map reports outlines as closed [lon, lat] rings; the
 * server judges them.
 */
import '@geoman-io/leaflet-geoman-free';
import '@geoman-io/leaflet-geoman-free/dist/leaflet-geoman.css';
import 'leaflet/dist/leaflet.css';
import L from 'leaflet';
import { useEffect, useRef } from 'react';
import { MapContainer, TileLayer, useMap } from 'react-leaflet';
import { DEFAULT_SERVICE_AREA } from '../../../../shared/service-area.js';
import type { ZoneKind, ZoneView } from '../../../../shared/zones.js';
import { ZONE_STYLES } from '../fleet-map/zone-styles';
import type { TileSettings } from './tile-settings';

export type Ring = Array<[number, number]>;

/** What the map is doing: showing, drawing a new outline, or editing `ring` (a new zone's or an existing one's). */
export type MapMode =
  { kind: 'view' } | { kind: 'draw'; zoneKind: ZoneKind } | { kind: 'edit'; zoneId: string | null; zoneKind: ZoneKind; ring: Ring };

const area = DEFAULT_SERVICE_AREA;
const AREA_BOUNDS: L.LatLngBoundsExpression = [
  [area.bounds[0].lat, area.bounds[0].lon],
  [area.bounds[1].lat, area.bounds[1].lon],
];

const toLatLngs = (ring: Ring): L.LatLngExpression[] => ring.slice(0, -1).map(([lon, lat]) => [lat, lon] as [number, number]);

function toRing(layer: L.Polygon): Ring {
  const latlngs = layer.getLatLngs();
  const outer = (Array.isArray(latlngs[0]) ? latlngs[0] : latlngs) as L.LatLng[];
  const ring: Ring = outer.map((p) => [round7(p.lng), round7(p.lat)]);
  if (ring.length > 0) ring.push([ring[0]![0], ring[0]![1]]);
  return ring;
}
const round7 = (x: number) => Math.round(x * 1e7) / 1e7;

export function ZonesMap({
  zones,
  mode,
  tiles,
  onRing,
  onSelect,
}: {
  zones: readonly ZoneView[];
  mode: MapMode;
  tiles: TileSettings | undefined;
  /** a drawn outline finished, or the edited one changed */
  onRing: (ring: Ring) => void;
  onSelect: (zoneId: string) => void;
}) {
  return (
    <MapContainer
      className="zones-map"
      bounds={AREA_BOUNDS}
      boundsOptions={{ padding: [16, 16] }}
      minZoom={3}
      maxZoom={19}
      data-testid="zones-map"
    >
      {tiles?.url ? <TileLayer url={tiles.url} attribution={tiles.attribution} maxZoom={19} /> : null}
      <ZoneLayers zones={zones} mode={mode} onRing={onRing} onSelect={onSelect} />
    </MapContainer>
  );
}

function ZoneLayers({
  zones,
  mode,
  onRing,
  onSelect,
}: {
  zones: readonly ZoneView[];
  mode: MapMode;
  onRing: (ring: Ring) => void;
  onSelect: (zoneId: string) => void;
}) {
  const map = useMap();
  const callbacks = useRef({ onRing, onSelect });
  callbacks.current = { onRing, onSelect };

  // the zones (the edited one is drawn by the editing layer instead)
  const editedId = mode.kind === 'edit' ? mode.zoneId : null;
  useEffect(() => {
    const group = L.layerGroup().addTo(map);
    for (const z of zones) {
      if (z.id === editedId) continue;
      const style = ZONE_STYLES[z.kind] ?? ZONE_STYLES.operating;
      const polygon = L.polygon(toLatLngs(z.polygon), { ...style, className: `zone-shape zone-shape-${z.kind}`, pmIgnore: true });
      polygon.bindTooltip(z.name, { sticky: true });
      polygon.on('click', () => callbacks.current.onSelect(z.id));
      polygon.on('add', () => polygon.getElement()?.setAttribute('data-zone-id', z.id));
      polygon.addTo(group);
    }
    return () => {
      group.remove();
    };
  }, [map, zones, editedId]);

  // drawing a new outline
  const drawKind = mode.kind === 'draw' ? mode.zoneKind : null;
  useEffect(() => {
    if (!drawKind) return;
    const style = ZONE_STYLES[drawKind];
    map.pm.enableDraw('Polygon', {
      allowSelfIntersection: true,
      snappable: false,
      templineStyle: { color: style.color },
      hintlineStyle: { color: style.color, dashArray: '4 4' },
      pathOptions: { ...style },
    });
    const created = (e: { layer: L.Layer }) => {
      const layer = e.layer as L.Polygon;
      const ring = toRing(layer);
      layer.remove();
      callbacks.current.onRing(ring);
    };
    map.on('pm:create', created);
    return () => {
      map.off('pm:create', created);
      map.pm.disableDraw();
    };
  }, [map, drawKind]);

  // editing an outline: vertices dragged, added (midpoints) or removed (right click)
  const editRing = mode.kind === 'edit' ? mode.ring : null;
  const editKind = mode.kind === 'edit' ? mode.zoneKind : null;
  const editKey = mode.kind === 'edit' ? (mode.zoneId ?? 'new') : null;
  const ringRef = useRef(editRing);
  ringRef.current = editRing;
  useEffect(() => {
    const ring = ringRef.current;
    if (!editKey || !ring || !editKind) return;
    const polygon = L.polygon(toLatLngs(ring), {
      ...ZONE_STYLES[editKind],
      weight: 3,
      dashArray: undefined,
      className: 'zone-shape zone-shape-editing',
    });
    polygon.addTo(map);
    polygon.pm.enable({ allowSelfIntersection: true, snappable: false, draggable: false });
    const changed = () => callbacks.current.onRing(toRing(polygon));
    polygon.on('pm:edit', changed);
    return () => {
      polygon.off('pm:edit', changed);
      polygon.pm.disable();
      polygon.remove();
    };
  }, [map, editKey, editKind]);

  return null;
}
