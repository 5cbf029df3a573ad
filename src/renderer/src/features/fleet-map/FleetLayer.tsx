/**
 * The one React component that owns the fleet's canvas layer. It renders nothing: it wires the store to the
 * layer imperatively (store change → update the point arrays → request one draw per animation frame) and
 * turns the layer's hover/click into a tooltip and selection callbacks.
 */
import L from 'leaflet';
import { useEffect, useRef } from 'react';
import { useMap } from 'react-leaflet';
import type { SelectVehicle, Selection } from '../../app/selection';
import type { FleetStore } from '../../data/fleet-store';
import { FleetCanvasLayer, type HoverTarget } from './fleet-canvas-layer';
import type { MapStats } from './map-stats';
import { clusterTooltipContent, vehicleTooltipContent } from './vehicle-tooltip';
import { VehiclePoints } from './vehicle-points';

/** Below this zoom vehicles are clustered; at it and above each vehicle is drawn. */
export const CLUSTER_BELOW_ZOOM = 13;
const FOCUS_ZOOM = 16;

interface FleetLayerProps {
  store: FleetStore;
  selection: Selection;
  onSelect: SelectVehicle;
  stats: MapStats;
}

export function FleetLayer({ store, selection, onSelect, stats }: FleetLayerProps) {
  const map = useMap();
  const layerRef = useRef<FleetCanvasLayer | undefined>(undefined);
  const pointsRef = useRef<VehiclePoints | undefined>(undefined);
  // Callbacks read through a ref so the layer is created once per map/store, not per render.
  const onSelectRef = useRef(onSelect);
  onSelectRef.current = onSelect;

  useEffect(() => {
    const container = map.getContainer();
    container.setAttribute('data-testid', 'fleet-map');
    const points = new VehiclePoints();
    const rebuild = () => {
      points.clear();
      for (const v of store.live.values()) points.upsert(v);
    };
    rebuild();
    pointsRef.current = points;

    const tooltip = L.tooltip({ direction: 'top', offset: [0, -10], className: 'fleet-tip', opacity: 1 });
    const showTooltip = (target: HoverTarget | undefined, latlng: L.LatLng | undefined) => {
      if (!target || !latlng) {
        map.closeTooltip(tooltip);
        return;
      }
      const content =
        target.kind === 'vehicle'
          ? vehicleTooltipContent(target.id, store.live.get(target.id), store.registry.get(target.id))
          : clusterTooltipContent(target.cluster);
      tooltip.setLatLng(latlng).setContent(content);
      if (!map.hasLayer(tooltip)) map.openTooltip(tooltip);
    };

    const layer = new FleetCanvasLayer({
      points,
      clusterBelowZoom: CLUSTER_BELOW_ZOOM,
      onDraw(draw) {
        stats.lastDrawMs = draw.ms;
        stats.avgDrawMs = stats.draws === 0 ? draw.ms : stats.avgDrawMs * 0.9 + draw.ms * 0.1;
        stats.maxDrawMs = Math.max(stats.maxDrawMs, draw.ms);
        stats.drawn = draw.drawn;
        stats.total = draw.total;
        stats.draws++;
        // The e2e contract: what the last draw represented on screen, and how many vehicles the map knows.
        container.setAttribute('data-drawn-vehicles', String(draw.drawn));
        container.setAttribute('data-total-vehicles', String(draw.total));
        container.setAttribute('data-draw-ms', draw.ms.toFixed(2));
      },
      onHover: showTooltip,
      onVehicleClick: (id) => onSelectRef.current(id, 'map'),
      onEmptyClick: () => onSelectRef.current(undefined, 'map'),
    });
    layer.addTo(map);
    layerRef.current = layer;

    const unsubscribe = store.subscribe((change) => {
      if (change.kind === 'reset') rebuild();
      else for (const v of change.upserts) points.upsert(v);
      // one draw per animation frame however many frames arrive; the draw also refreshes an open tooltip
      layer.requestDraw();
    });

    return () => {
      unsubscribe();
      map.closeTooltip(tooltip);
      layer.remove();
      layerRef.current = undefined;
      pointsRef.current = undefined;
    };
  }, [map, store, stats]);

  useEffect(() => {
    layerRef.current?.setSelected(selection.id);
  }, [selection.id]);

  // Pan/zoom to a vehicle the dispatcher picked in the grid or the search box (not on map clicks: the
  // vehicle is already under the pointer and moving the map under it is disorienting).
  useEffect(() => {
    if (!selection.id || selection.source === 'map') return;
    const live = store.live.get(selection.id);
    if (!live || !Number.isFinite(live.lat) || !Number.isFinite(live.lon)) return;
    const zoom = Math.max(map.getZoom(), FOCUS_ZOOM);
    map.flyTo([live.lat, live.lon], zoom, { duration: 0.6 });
  }, [map, store, selection.id, selection.source, selection.nonce]);

  return null;
}
