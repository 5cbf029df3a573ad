/**
 * One Leaflet layer that draws the whole fleet on a single canvas (no per-vehicle DOM or React).
 *
 * - The canvas lives in its own pane above the zone overlay and is re-positioned to the viewport's top-left on
 *   every draw, like Leaflet's own canvas renderer; draws happen at most once per animation frame and only when
 *   data changed or the view moved, so a 10 Hz frame stream and a drag in the same frame cost one draw.
 * - Vehicles outside the viewport (plus a small margin) are culled; the rest are stamped into one pixel buffer
 *   (see vehicle-stamps.ts for why not arcs or drawImage), which keeps 20,000 vehicles within a frame budget;
 *   the few vector shapes (clusters, selection) are drawn on top with the canvas API.
 * - Below `clusterBelowZoom` vehicles are aggregated into world-anchored screen-grid clusters.
 * - Hit-testing is a nearest search over the screen points of the last draw (typed arrays; a linear scan of
 *   20,000 points is far below a millisecond and needs no index rebuilt per frame).
 */
import L from 'leaflet';
import { BUSINESS_STATE_COLORS } from '../../data/business-state';
import { clusterOnScreen, clusterRadius, type ScreenCluster } from './screen-clusters';
import { ALARM_CODE, STATE_ORDER, type VehiclePoints } from './vehicle-points';
import { VehicleStamps, stamp } from './vehicle-stamps';

export interface DrawStats {
  /** vehicles represented on screen, individually or inside clusters */
  drawn: number;
  total: number;
  clusters: number;
  /** vehicles the filters (legend, search) leave, on screen or not */
  shown: number;
  /** clusters (of more than one car) holding an alarm car, marked red */
  alarmClusters: number;
  /** marks on screen: single cars plus clusters */
  marks: number;
  ms: number;
  /** where the selected vehicle was drawn (CSS px in the map container), when it is on screen */
  selected: { x: number; y: number } | undefined;
}

export type HoverTarget = { kind: 'vehicle'; id: string } | { kind: 'cluster'; cluster: ScreenCluster };

export interface FleetCanvasLayerOptions {
  points: VehiclePoints;
  clusterBelowZoom: number;
  onDraw(stats: DrawStats): void;
  onHover(target: HoverTarget | undefined, latlng: L.LatLng | undefined): void;
  onVehicleClick(id: string): void;
  onEmptyClick(): void;
}

const PANE = 'fleetVehiclesPane';
const CULL_MARGIN_PX = 16;
const CLUSTER_CELL_PX = 64;
const HIT_RADIUS_PX = 9;
const STATE_COLORS = STATE_ORDER.map((s) => BUSINESS_STATE_COLORS[s]);
const ALARM_COLOR = BUSINESS_STATE_COLORS.alarm;

function vehicleRadius(zoom: number): number {
  return zoom >= 17 ? 6 : zoom >= 15 ? 5 : 4;
}

export class FleetCanvasLayer extends L.Layer {
  private readonly opts: FleetCanvasLayerOptions;
  private leafletMap: L.Map | undefined;
  private canvas: HTMLCanvasElement | undefined;
  private ctx: CanvasRenderingContext2D | undefined;
  private frame = 0;
  private zooming = false;
  private selectedId: string | undefined;
  private hovered: HoverTarget | undefined;
  /** screen points of the last draw (visible vehicles only) */
  private xs = new Float32Array(0);
  private ys = new Float32Array(0);
  private visIdx = new Int32Array(0);
  private visN = 0;
  private shownN = 0;
  private clusters: ScreenCluster[] = [];
  private clustered = false;
  private readonly stamps = new VehicleStamps();
  /** the frame's pixels: vehicles are stamped here, then put on the canvas in one call */
  private image: ImageData | undefined;
  private words = new Uint32Array(0);
  /** the canvas' top-left as a LatLng at the last draw: the anchor for the zoom animation */
  private drawnTopLeft: L.LatLng | undefined;
  /** last pointer position over the map (container px), to re-hit-test after a draw */
  private pointer: L.Point | undefined;

  constructor(opts: FleetCanvasLayerOptions) {
    super();
    this.opts = opts;
  }

  override onAdd(map: L.Map): this {
    this.leafletMap = map;
    const pane = map.getPane(PANE) ?? map.createPane(PANE);
    pane.style.zIndex = '450'; // above overlayPane (zone, 400), below markers/tooltips/popups
    pane.style.pointerEvents = 'none'; // Leaflet keeps handling drag/zoom; we hit-test on map events
    const canvas = L.DomUtil.create('canvas', 'fleet-canvas leaflet-zoom-animated', pane);
    this.canvas = canvas;
    this.ctx = canvas.getContext('2d') ?? undefined;
    map.on('move zoom viewreset resize', this.requestDraw, this);
    map.on('zoomanim', this.onZoomAnim, this);
    map.on('zoomend', this.onZoomEnd, this);
    map.on('mousemove', this.onMouseMove, this);
    map.on('mouseout', this.onMouseOut, this);
    map.on('click', this.onClick, this);
    this.requestDraw();
    return this;
  }

  override onRemove(map: L.Map): this {
    map.off('move zoom viewreset resize', this.requestDraw, this);
    map.off('zoomanim', this.onZoomAnim, this);
    map.off('zoomend', this.onZoomEnd, this);
    map.off('mousemove', this.onMouseMove, this);
    map.off('mouseout', this.onMouseOut, this);
    map.off('click', this.onClick, this);
    cancelAnimationFrame(this.frame);
    this.frame = 0;
    this.canvas?.remove();
    this.canvas = undefined;
    this.ctx = undefined;
    this.leafletMap = undefined;
    return this;
  }

  setSelected(id: string | undefined): void {
    if (id === this.selectedId) return;
    this.selectedId = id;
    this.requestDraw();
  }

  /** Data or view changed: draw once in the next animation frame, however many calls come before it. */
  requestDraw(): void {
    if (this.frame || !this.leafletMap) return;
    this.frame = requestAnimationFrame(() => {
      this.frame = 0;
      this.draw();
    });
  }

  /** Screen position of a vehicle in the last draw, for tooltips that follow it. */
  vehicleLatLng(id: string): L.LatLng | undefined {
    const i = this.opts.points.indexOf(id);
    if (i === undefined || !this.leafletMap) return undefined;
    const { mx, my } = this.opts.points;
    const scale = this.leafletMap.options.crs!.scale(0);
    return this.leafletMap.unproject([mx[i]! * scale, my[i]! * scale], 0);
  }

  private onZoomAnim(e: L.ZoomAnimEvent): void {
    // Scale the current picture with Leaflet's CSS zoom transition instead of redrawing mid-animation.
    const map = this.leafletMap;
    if (!map || !this.canvas || !this.drawnTopLeft) return;
    this.zooming = true;
    const scale = map.getZoomScale(e.zoom, map.getZoom());
    const mapPanePos = L.DomUtil.getPosition(map.getPane('mapPane')!);
    const newPixelOrigin = map.project(e.center, e.zoom).subtract(map.getSize().divideBy(2)).add(mapPanePos).round();
    const offset = map.project(this.drawnTopLeft, e.zoom).subtract(newPixelOrigin);
    L.DomUtil.setTransform(this.canvas, offset, scale);
  }

  private onZoomEnd(): void {
    this.zooming = false;
    this.requestDraw();
  }

  private draw(): void {
    const map = this.leafletMap;
    const canvas = this.canvas;
    const ctx = this.ctx;
    if (!map || !canvas || !ctx || this.zooming) return;
    const t0 = performance.now();
    const size = map.getSize();
    const dpr = window.devicePixelRatio || 1;
    const w = size.x;
    const h = size.y;
    // a hidden map (the back office over the operations view) has no size: nothing to draw until it is shown
    if (w <= 0 || h <= 0) return;
    if (canvas.width !== Math.round(w * dpr) || canvas.height !== Math.round(h * dpr)) {
      canvas.width = Math.round(w * dpr);
      canvas.height = Math.round(h * dpr);
      canvas.style.width = `${w}px`;
      canvas.style.height = `${h}px`;
    }
    const topLeftLayer = map.containerPointToLayerPoint([0, 0]);
    L.DomUtil.setPosition(canvas, topLeftLayer);
    this.drawnTopLeft = map.layerPointToLatLng(topLeftLayer);

    const zoom = map.getZoom();
    const scale = map.options.crs!.scale(zoom);
    const origin = map.getPixelBounds().min!;
    this.project(scale, origin.x, origin.y, w, h);

    // Pixel pass: every individually drawn vehicle goes into the buffer; putImageData also clears the canvas.
    const image = this.frameBuffer(ctx, canvas.width, canvas.height);
    this.words.fill(0);
    this.clustered = zoom < this.opts.clusterBelowZoom;
    if (this.clustered) {
      this.clusters = clusterOnScreen({
        xs: this.xs,
        ys: this.ys,
        idx: this.visIdx,
        n: this.visN,
        state: this.opts.points.state,
        stateCount: STATE_ORDER.length,
        originX: origin.x,
        originY: origin.y,
        width: w,
        height: h,
        cellPx: CLUSTER_CELL_PX,
      });
      this.stampSingles(image, zoom, dpr);
    } else {
      this.clusters = [];
      this.stampVehicles(image, zoom, dpr);
    }
    ctx.putImageData(image, 0, 0);

    // Vector pass on top: clusters and the selection halo (a few hundred shapes at most).
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    if (this.clustered) this.drawClusters(ctx);
    let alarmClusters = 0;
    for (const cl of this.clusters) if (cl.count > 1 && (cl.byState[ALARM_CODE] ?? 0) > 0) alarmClusters++;
    const selected = this.drawSelection(ctx, scale, origin.x, origin.y, zoom);

    const ms = performance.now() - t0;
    this.opts.onDraw({
      drawn: this.visN,
      total: this.opts.points.size,
      clusters: this.clusters.length,
      marks: this.clustered ? this.clusters.length : this.visN,
      shown: this.shownN,
      alarmClusters,
      ms,
      selected,
    });
    // Things moved under a still pointer: re-test, and keep a vehicle's tooltip on the vehicle.
    if (this.pointer) this.updateHover(this.pointer, true);
  }

  /** Screen-project every vehicle, keeping those inside the viewport (+margin). */
  private project(scale: number, ox: number, oy: number, w: number, h: number): void {
    const { size, mx, my, shown } = this.opts.points;
    if (this.xs.length < size) {
      this.xs = new Float32Array(size);
      this.ys = new Float32Array(size);
      this.visIdx = new Int32Array(size);
    }
    const xs = this.xs;
    const ys = this.ys;
    const visIdx = this.visIdx;
    const minX = -CULL_MARGIN_PX;
    const minY = -CULL_MARGIN_PX;
    const maxX = w + CULL_MARGIN_PX;
    const maxY = h + CULL_MARGIN_PX;
    let n = 0;
    let shownN = 0;
    for (let i = 0; i < size; i++) {
      if (!shown[i]) continue; // hidden in the legend, or not matching the search
      shownN++;
      const x = mx[i]! * scale - ox;
      const y = my[i]! * scale - oy;
      if (x < minX || y < minY || x > maxX || y > maxY) continue;
      xs[n] = x;
      ys[n] = y;
      visIdx[n] = i;
      n++;
    }
    this.visN = n;
    this.shownN = shownN;
  }

  private frameBuffer(ctx: CanvasRenderingContext2D, width: number, height: number): ImageData {
    if (!this.image || this.image.width !== width || this.image.height !== height) {
      this.image = ctx.createImageData(width, height);
      this.words = new Uint32Array(this.image.data.buffer);
    }
    return this.image;
  }

  private stampVehicles(image: ImageData, zoom: number, dpr: number): void {
    const { state, moving, headingRad } = this.opts.points;
    const r = vehicleRadius(zoom);
    const { xs, ys, visIdx, visN: n, words } = this;
    const bytes = image.data;
    const { width, height } = image;
    // State by state in STATE_ORDER, so alarms paint over everything and offline cars under everything.
    for (let s = 0; s < STATE_ORDER.length; s++) {
      for (let k = 0; k < n; k++) {
        const i = visIdx[k]!;
        if (state[i] !== s) continue;
        stamp(
          bytes,
          words,
          width,
          height,
          this.stamps.get(s, moving[i] === 1, r, headingRad[i]!, dpr),
          Math.round(xs[k]! * dpr),
          Math.round(ys[k]! * dpr),
        );
      }
    }
  }

  private stampSingles(image: ImageData, zoom: number, dpr: number): void {
    const { state, moving, headingRad } = this.opts.points;
    const r = vehicleRadius(zoom);
    for (const cl of this.clusters) {
      if (cl.count !== 1) continue;
      const i = cl.single;
      const s = this.stamps.get(state[i]!, moving[i] === 1, r, headingRad[i]!, dpr);
      stamp(image.data, this.words, image.width, image.height, s, Math.round(cl.x * dpr), Math.round(cl.y * dpr));
    }
  }

  private drawClusters(ctx: CanvasRenderingContext2D): void {
    ctx.textAlign = 'center';
    ctx.textBaseline = 'middle';
    ctx.font = '600 11px system-ui, -apple-system, "Segoe UI", Roboto, sans-serif';
    for (const cl of this.clusters) {
      if (cl.count === 1) continue; // stamped in the pixel pass
      const radius = clusterRadius(cl.count);
      ctx.beginPath();
      ctx.arc(cl.x, cl.y, radius, 0, Math.PI * 2);
      ctx.fillStyle = 'rgba(22, 30, 42, 0.88)';
      ctx.fill();
      // Ring split by state: the mix of a cluster is visible without hovering it.
      let start = -Math.PI / 2;
      ctx.lineWidth = 4;
      for (let s = STATE_ORDER.length - 1; s >= 0; s--) {
        const part = cl.byState[s]!;
        if (!part) continue;
        const end = start + (part / cl.count) * Math.PI * 2;
        ctx.beginPath();
        ctx.arc(cl.x, cl.y, radius - 2, start, end);
        ctx.strokeStyle = STATE_COLORS[s]!;
        ctx.stroke();
        start = end;
      }
      ctx.fillStyle = '#fff';
      ctx.fillText(cl.count >= 10_000 ? `${Math.round(cl.count / 1000)}k` : String(cl.count), cl.x, cl.y + 0.5);
      // A cluster holding an alarm car stands out: a red outer ring and a badge with the number of alarms.
      const alarms = cl.byState[ALARM_CODE] ?? 0;
      if (alarms > 0) {
        ctx.beginPath();
        ctx.arc(cl.x, cl.y, radius + 3, 0, Math.PI * 2);
        ctx.lineWidth = 2.5;
        ctx.strokeStyle = ALARM_COLOR;
        ctx.stroke();
        const bx = cl.x + radius * 0.75;
        const by = cl.y - radius * 0.75;
        ctx.beginPath();
        ctx.arc(bx, by, 7.5, 0, Math.PI * 2);
        ctx.fillStyle = ALARM_COLOR;
        ctx.fill();
        ctx.lineWidth = 1.5;
        ctx.strokeStyle = '#fff';
        ctx.stroke();
        ctx.fillStyle = '#fff';
        ctx.font = '700 10px system-ui, -apple-system, "Segoe UI", Roboto, sans-serif';
        ctx.fillText(alarms > 99 ? '99+' : String(alarms), bx, by + 0.5);
        ctx.font = '600 11px system-ui, -apple-system, "Segoe UI", Roboto, sans-serif';
      }
    }
  }

  /** The selected vehicle is always drawn on top with a halo, even inside a cluster. */
  private drawSelection(
    ctx: CanvasRenderingContext2D,
    scale: number,
    ox: number,
    oy: number,
    zoom: number,
  ): { x: number; y: number } | undefined {
    if (!this.selectedId) return undefined;
    const i = this.opts.points.indexOf(this.selectedId);
    if (i === undefined) return undefined;
    const x = this.opts.points.mx[i]! * scale - ox;
    const y = this.opts.points.my[i]! * scale - oy;
    const r = vehicleRadius(zoom) + 1.5;
    ctx.beginPath();
    ctx.arc(x, y, r + 7, 0, Math.PI * 2);
    ctx.fillStyle = 'rgba(250, 204, 21, 0.25)';
    ctx.fill();
    ctx.lineWidth = 2.5;
    ctx.strokeStyle = '#facc15';
    ctx.stroke();
    ctx.beginPath();
    ctx.arc(x, y, r, 0, Math.PI * 2);
    ctx.fillStyle = STATE_COLORS[this.opts.points.state[i]!]!;
    ctx.fill();
    ctx.lineWidth = 2;
    ctx.strokeStyle = '#fff';
    ctx.stroke();
    return { x, y };
  }

  private hitTest(p: L.Point): HoverTarget | undefined {
    if (this.clustered) {
      let best: ScreenCluster | undefined;
      let bestD = Infinity;
      for (const cl of this.clusters) {
        const radius = cl.count === 1 ? HIT_RADIUS_PX : clusterRadius(cl.count) + 2;
        const d = (cl.x - p.x) ** 2 + (cl.y - p.y) ** 2;
        if (d <= radius * radius && d < bestD) {
          bestD = d;
          best = cl;
        }
      }
      if (!best) return undefined;
      return best.count === 1 ? { kind: 'vehicle', id: this.opts.points.ids[best.single]! } : { kind: 'cluster', cluster: best };
    }
    let bestK = -1;
    let bestD = HIT_RADIUS_PX * HIT_RADIUS_PX;
    // Later points are drawn on top within a state; prefer live states by scanning all and keeping the nearest.
    for (let k = 0; k < this.visN; k++) {
      const dx = this.xs[k]! - p.x;
      const dy = this.ys[k]! - p.y;
      const d = dx * dx + dy * dy;
      if (d <= bestD) {
        bestD = d;
        bestK = k;
      }
    }
    return bestK < 0 ? undefined : { kind: 'vehicle', id: this.opts.points.ids[this.visIdx[bestK]!]! };
  }

  private onMouseMove(e: L.LeafletMouseEvent): void {
    this.pointer = e.containerPoint;
    if (!this.zooming) this.updateHover(e.containerPoint, false);
  }

  private updateHover(point: L.Point, afterDraw: boolean): void {
    const target = this.hitTest(point);
    const prev = this.hovered;
    const same =
      target?.kind === prev?.kind &&
      (target?.kind === 'vehicle'
        ? target.id === (prev as { id: string }).id
        : target?.kind === 'cluster'
          ? target.cluster.count === (prev as { cluster: ScreenCluster }).cluster.count
          : true);
    // after a draw a hovered vehicle may have moved or changed: refresh its tooltip even if it is the same one
    if (same && !(afterDraw && target?.kind === 'vehicle')) return;
    this.hovered = target;
    if (this.leafletMap) this.leafletMap.getContainer().style.cursor = target ? 'pointer' : '';
    const latlng =
      target?.kind === 'vehicle'
        ? this.vehicleLatLng(target.id)
        : target?.kind === 'cluster'
          ? this.leafletMap?.containerPointToLatLng([target.cluster.x, target.cluster.y])
          : undefined;
    this.opts.onHover(target, latlng);
  }

  private onMouseOut(): void {
    this.pointer = undefined;
    if (!this.hovered) return;
    this.hovered = undefined;
    if (this.leafletMap) this.leafletMap.getContainer().style.cursor = '';
    this.opts.onHover(undefined, undefined);
  }

  private onClick(e: L.LeafletMouseEvent): void {
    const map = this.leafletMap;
    if (!map) return;
    const target = this.hitTest(e.containerPoint);
    if (!target) {
      this.opts.onEmptyClick();
      return;
    }
    if (target.kind === 'vehicle') {
      this.opts.onVehicleClick(target.id);
      return;
    }
    // A cluster: zoom in on it (far enough to split it; at the cluster threshold vehicles are drawn one by one).
    const center = map.containerPointToLatLng([target.cluster.x, target.cluster.y]);
    map.setView(center, Math.max(map.getZoom() + 2, Math.min(this.opts.clusterBelowZoom, map.getMaxZoom())));
  }
}
