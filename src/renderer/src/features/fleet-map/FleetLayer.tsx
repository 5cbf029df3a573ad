/**
 * The one React component that owns the fleet's canvas layer. It renders nothing: it wires the business-state index
 * (the store's changes, re-emitted with each car's business state) to the layer imperatively (change → update the
 * point arrays → request one draw per animation frame) and turns the layer's hover/click into a tooltip and
 * selection callbacks. Legend toggles and the search box filter which cars are drawn.
 */
import L from 'leaflet';
import { useEffect, useRef } from 'react';
import { useMap } from 'react-leaflet';
import type { VehicleLive } from '../../../../shared/fleet.js';
import type { SelectVehicle, Selection } from '../../app/selection';
import type { BusinessState } from '../../data/business-state';
import type { BusinessStateIndex } from '../../data/business-state-index';
import type { FleetStore } from '../../data/fleet-store';
import { FleetCanvasLayer, type HoverTarget } from './fleet-canvas-layer';
import type { MapStats } from './map-stats';
import { clusterTooltipContent, vehicleTooltipContent } from './vehicle-tooltip';
import { VehiclePoints } from './vehicle-points';

/** Below this zoom vehicles are clustered; at it and above each vehicle is drawn. */
export const CLUSTER_BELOW_ZOOM = 13;
const FOCUS_ZOOM = 16;
/** width the selected car's card takes over the map (app.css .vehicle-card plus its margin) */
const CARD_ALLOWANCE_PX = 340;

interface FleetLayerProps {
  store: FleetStore;
  index: BusinessStateIndex;
  hiddenStates: ReadonlySet<BusinessState>;
  /** cars the search box matches; undefined = no search */
  matches: ((id: string) => boolean) | undefined;
  selection: Selection;
  onSelect: SelectVehicle;
  stats: MapStats;
}

export function FleetLayer({ store, index, hiddenStates, matches, selection, onSelect, stats }: FleetLayerProps) {
  const map = useMap();
  const layerRef = useRef<FleetCanvasLayer | undefined>(undefined);
  const pointsRef = useRef<VehiclePoints | undefined>(undefined);
  // Callbacks read through a ref so the layer is created once per map/store, not per render.
  const onSelectRef = useRef(onSelect);
  onSelectRef.current = onSelect;
  const filterRef = useRef({ hiddenStates, matches });

  useEffect(() => {
    const container = map.getContainer();
    container.setAttribute('data-testid', 'fleet-map');
    const points = new VehiclePoints();
    points.setFilter(filterRef.current.hiddenStates, filterRef.current.matches);
    const upsert = (v: VehicleLive) => points.upsert(v, index.stateOf(v.id), index.isMoving(v.id));
    const rebuild = () => {
      points.clear();
      for (const v of store.live.values()) upsert(v);
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
          ? vehicleTooltipContent(
              target.id,
              store.live.get(target.id),
              store.registry.get(target.id),
              index.stateOf(target.id),
              index.isMoving(target.id),
            )
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
        container.setAttribute('data-raster-ms', draw.rasterMs.toFixed(2));
        container.setAttribute('data-draws', String(stats.draws));
        container.setAttribute('data-marks', String(draw.marks));
        container.setAttribute('data-shown-vehicles', String(draw.shown));
        container.setAttribute('data-alarm-clusters', String(draw.alarmClusters));
        if (draw.selected) container.setAttribute('data-selected-xy', `${draw.selected.x.toFixed(1)},${draw.selected.y.toFixed(1)}`);
        else container.removeAttribute('data-selected-xy');
      },
      onHover: showTooltip,
      onVehicleClick: (id) => onSelectRef.current(id, 'map'),
      onEmptyClick: () => onSelectRef.current(undefined, 'map'),
    });
    layer.addTo(map);
    layerRef.current = layer;

    const unsubscribe = index.subscribe((change) => {
      if (change.kind === 'reset') rebuild();
      else {
        for (const v of change.upserts) upsert(v);
        for (const id of change.restyled) points.setState(id, index.stateOf(id));
      }
      // one raster job at a time however many frames arrive (the next one from the newest data); the draw also
      // refreshes an open tooltip
      layer.requestDraw();
    });

    return () => {
      unsubscribe();
      map.closeTooltip(tooltip);
      layer.remove();
      layerRef.current = undefined;
      pointsRef.current = undefined;
    };
  }, [map, store, index, stats]);

  useEffect(() => {
    filterRef.current = { hiddenStates, matches };
    pointsRef.current?.setFilter(hiddenStates, matches);
    layerRef.current?.requestDraw();
  }, [hiddenStates, matches]);

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
    // The card floats over the map's right side: centre the car in what the card leaves visible.
    const shift = map.getSize().x > CARD_ALLOWANCE_PX + 200 ? CARD_ALLOWANCE_PX / 2 : 0;
    const center = map.unproject(map.project([live.lat, live.lon], zoom).add([shift, 0]), zoom);
    map.flyTo(center, zoom, { duration: 0.6 });
  }, [map, store, selection.id, selection.source, selection.nonce]);

  return null;
}
