/**
 * One Leaflet layer that draws the whole fleet (no per-vehicle DOM or React).
 *
 * - Two canvases in one positioned container in their own pane above the zone overlay: the markers, rastered by
 *   the raster worker (fleet-raster.worker.ts) and shown as one ImageBitmap, and on top the few vector shapes
 *   (clusters, the selection halo) drawn here. Both cover the viewport plus a margin (`PAD_RATIO` of its size on
 *   every side), like Leaflet's own canvas renderer, and sit in the map pane: a pan only translates them, and
 *   nothing is redrawn until the view leaves the drawn area, the zoom changes, or the data does.
 * - The main thread only projects (typed arrays, no allocation per vehicle) and fills the job's arrays; the raster
 *   worker stamps the markers. One job is in flight at a time; redraw requests meanwhile collapse into the next job,
 *   built from the newest data (raster-scheduler.ts). A drawn picture is placed by the top-left and zoom it was
 *   drawn for, so it stays true to the map whatever moved while it was being drawn.
 * - Vehicles outside the drawn area are culled. Below `clusterBelowZoom` vehicles are aggregated into
 *   world-anchored screen-grid clusters.
 * - Hit-testing is a nearest search over the points of the last projection (a linear scan of 20,000 points is far
 *   below a millisecond and needs no index rebuilt per frame).
 */
import L from 'leaflet';
import { BUSINESS_STATE_COLORS } from '../../data/business-state';
import type { RasterJob } from './fleet-raster';
import { RasterScheduler, type RasterDone, type RasterPort } from './raster-scheduler';
import { clusterOnScreen, clusterRadius, type ScreenCluster } from './screen-clusters';
import { ALARM_CODE, STATE_ORDER, type VehiclePoints } from './vehicle-points';

export interface DrawStats {
  /** vehicles represented in the viewport, individually or inside clusters */
  drawn: number;
  total: number;
  clusters: number;
  /** vehicles the filters (legend, search) leave, on screen or not */
  shown: number;
  /** clusters (of more than one car) holding an alarm car, marked red, in the viewport */
  alarmClusters: number;
  /** marks in the viewport: single cars plus clusters */
  marks: number;
  /** main-thread time of the draw: projecting, filling the job, showing the picture and the vector shapes */
  ms: number;
  /** the raster worker's time for the markers (off the main thread) */
  rasterMs: number;
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
  /** the raster worker (default: fleet-raster.worker.ts) */
  createWorker?: () => RasterPort;
}

const PANE = 'fleetVehiclesPane';
/** the drawn area reaches this share of the viewport's larger side beyond every edge */
const PAD_RATIO = 0.1;
const CULL_MARGIN_PX = 16;
const CLUSTER_CELL_PX = 64;
const HIT_RADIUS_PX = 9;
const STATE_COLORS = STATE_ORDER.map((s) => BUSINESS_STATE_COLORS[s]);
const ALARM_COLOR = BUSINESS_STATE_COLORS.alarm;

function vehicleRadius(zoom: number): number {
  return zoom >= 17 ? 6 : zoom >= 15 ? 5 : 4;
}

function defaultWorker(): RasterPort {
  return new Worker(new URL('./fleet-raster.worker.ts', import.meta.url), { type: 'module', name: 'fleet-raster' });
}

/** What a job was drawn for: where (world px of the drawn area's top-left, at `zoom`), and what goes on top. */
interface DrawFrame {
  zoom: number;
  ox: number;
  oy: number;
  /** drawn area, CSS px, and its margin beyond the viewport */
  width: number;
  height: number;
  pad: number;
  dpr: number;
  clustered: boolean;
  clusters: ScreenCluster[];
  /** vehicles / clusters in the viewport (+ the cull margin) */
  inView: number;
  marks: number;
  alarmClusters: number;
  shown: number;
  buildMs: number;
}

export class FleetCanvasLayer extends L.Layer {
  private readonly opts: FleetCanvasLayerOptions;
  private leafletMap: L.Map | undefined;
  private container: HTMLDivElement | undefined;
  private raster: HTMLCanvasElement | undefined;
  private rasterCtx: ImageBitmapRenderingContext | undefined;
  private canvas: HTMLCanvasElement | undefined;
  private ctx: CanvasRenderingContext2D | undefined;
  private scheduler: RasterScheduler<DrawFrame> | undefined;
  private frame = 0;
  /** the zoom animation running now, if any */
  private zoomAnim: L.ZoomAnimEvent | undefined;
  private selectedId: string | undefined;
  private hovered: HoverTarget | undefined;
  /** points of the last projection (drawn area px, relative to `proj`), visible vehicles only */
  private xs = new Float32Array(0);
  private ys = new Float32Array(0);
  private visIdx = new Int32Array(0);
  private visN = 0;
  private proj: DrawFrame | undefined;
  /** the frame shown now, and its top-left as a LatLng (the anchor for pans and zoom animations) */
  private shownFrame: DrawFrame | undefined;
  private shownTopLeft: L.LatLng | undefined;
  private overlayDirty = false;
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
    const container = L.DomUtil.create('div', 'fleet-layer leaflet-zoom-animated', pane);
    this.container = container;
    this.raster = L.DomUtil.create('canvas', 'fleet-raster', container);
    this.rasterCtx = this.raster.getContext('bitmaprenderer') ?? undefined;
    this.canvas = L.DomUtil.create('canvas', 'fleet-canvas', container);
    this.ctx = this.canvas.getContext('2d') ?? undefined;
    this.scheduler = new RasterScheduler<DrawFrame>(
      (this.opts.createWorker ?? defaultWorker)(),
      (seq, buffers) => this.build(seq, buffers),
      (done, frame) => this.show(done, frame),
    );
    map.on('move', this.onMove, this);
    map.on('zoom viewreset resize', this.onViewChange, this);
    map.on('zoomanim', this.onZoomAnim, this);
    map.on('zoomend', this.onZoomEnd, this);
    map.on('mousemove', this.onMouseMove, this);
    map.on('mouseout', this.onMouseOut, this);
    map.on('click', this.onClick, this);
    this.requestDraw();
    return this;
  }

  override onRemove(map: L.Map): this {
    map.off('move', this.onMove, this);
    map.off('zoom viewreset resize', this.onViewChange, this);
    map.off('zoomanim', this.onZoomAnim, this);
    map.off('zoomend', this.onZoomEnd, this);
    map.off('mousemove', this.onMouseMove, this);
    map.off('mouseout', this.onMouseOut, this);
    map.off('click', this.onClick, this);
    cancelAnimationFrame(this.frame);
    this.frame = 0;
    this.scheduler?.dispose();
    this.scheduler = undefined;
    this.container?.remove();
    this.container = this.raster = this.canvas = undefined;
    this.rasterCtx = this.ctx = undefined;
    this.leafletMap = undefined;
    return this;
  }

  setSelected(id: string | undefined): void {
    if (id === this.selectedId) return;
    this.selectedId = id;
    this.requestDraw();
  }

  /** Data or view changed: one raster job from the next animation frame on, however many calls come before it. */
  requestDraw(): void {
    if (this.frame || !this.leafletMap) return;
    this.frame = requestAnimationFrame(() => {
      this.frame = 0;
      this.scheduler?.request();
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

  /** A pan: the drawn area moves with the map pane; draw again only once the viewport leaves it. */
  private onMove(): void {
    const map = this.leafletMap;
    const f = this.shownFrame;
    if (!map || this.zooming) return;
    if (!f || f.zoom !== map.getZoom()) {
      this.onViewChange();
      return;
    }
    const view = map.getPixelBounds();
    const size = map.getSize();
    if (view.min!.x < f.ox || view.min!.y < f.oy || view.min!.x + size.x > f.ox + f.width || view.min!.y + size.y > f.oy + f.height) {
      this.requestDraw();
    }
  }

  /** Zoom (without animation, or each step of a flight), reset, resize: keep the picture where it belongs, redraw. */
  private onViewChange(): void {
    this.place();
    this.requestDraw();
  }

  private onZoomAnim(e: L.ZoomAnimEvent): void {
    // Scale the current picture with Leaflet's CSS zoom transition instead of redrawing mid-animation.
    this.zoomAnim = e;
    this.place();
  }

  private onZoomEnd(): void {
    this.zoomAnim = undefined;
    this.place();
    this.requestDraw();
  }

  private get zooming(): boolean {
    return this.zoomAnim !== undefined;
  }

  /**
   * Puts the shown picture where its top-left is now, scaled if it was drawn at another zoom — or, during a zoom
   * animation, where it will be at the animation's end (Leaflet's CSS transition takes it there).
   */
  private place(): void {
    const map = this.leafletMap;
    const f = this.shownFrame;
    if (!map || !this.container || !this.shownTopLeft || !f) return;
    const anim = this.zoomAnim;
    if (anim) {
      const mapPanePos = L.DomUtil.getPosition(map.getPane('mapPane')!);
      const newPixelOrigin = map.project(anim.center, anim.zoom).subtract(map.getSize().divideBy(2)).add(mapPanePos).round();
      const offset = map.project(this.shownTopLeft, anim.zoom).subtract(newPixelOrigin);
      L.DomUtil.setTransform(this.container, offset, map.getZoomScale(anim.zoom, f.zoom));
      return;
    }
    L.DomUtil.setTransform(this.container, map.latLngToLayerPoint(this.shownTopLeft), map.getZoomScale(map.getZoom(), f.zoom));
  }

  /** Builds the next raster job from the current view and data (main thread: projection and the job's arrays). */
  private build(
    seq: number,
    buffers: (capacity: number) => Pick<RasterJob, 'x' | 'y' | 'state' | 'moving' | 'heading'>,
  ): { job: RasterJob; meta: DrawFrame } | undefined {
    const map = this.leafletMap;
    if (!map || this.zooming) return undefined;
    const t0 = performance.now();
    const size = map.getSize();
    // a hidden map (the back office over the operations view) has no size: nothing to draw until it is shown
    if (size.x <= 0 || size.y <= 0) return undefined;
    const dpr = window.devicePixelRatio || 1;
    const pad = Math.round(Math.max(size.x, size.y) * PAD_RATIO);
    const width = size.x + 2 * pad;
    const height = size.y + 2 * pad;
    const zoom = map.getZoom();
    const scale = map.options.crs!.scale(zoom);
    const view = map.getPixelBounds().min!;
    const frame: DrawFrame = {
      zoom,
      ox: view.x - pad,
      oy: view.y - pad,
      width,
      height,
      pad,
      dpr,
      clustered: zoom < this.opts.clusterBelowZoom,
      clusters: [],
      inView: 0,
      marks: 0,
      alarmClusters: 0,
      shown: 0,
      buildMs: 0,
    };
    this.project(frame, scale);
    const { state, moving, headingRad } = this.opts.points;
    let n = 0;
    let b: ReturnType<typeof buffers>;
    if (frame.clustered) {
      frame.clusters = clusterOnScreen({
        xs: this.xs,
        ys: this.ys,
        idx: this.visIdx,
        n: this.visN,
        state,
        stateCount: STATE_ORDER.length,
        originX: frame.ox,
        originY: frame.oy,
        width,
        height,
        cellPx: CLUSTER_CELL_PX,
      });
      b = buffers(frame.clusters.length);
      for (const cl of frame.clusters) {
        const inView = this.inView(frame, cl.x, cl.y);
        if (inView) frame.marks++;
        if (inView && cl.count > 1 && (cl.byState[ALARM_CODE] ?? 0) > 0) frame.alarmClusters++;
        if (cl.count !== 1) continue; // drawn as a vector shape on top
        const i = cl.single;
        b.x[n] = cl.x;
        b.y[n] = cl.y;
        b.state[n] = state[i]!;
        b.moving[n] = moving[i]!;
        b.heading[n] = headingRad[i]!;
        n++;
      }
    } else {
      b = buffers(this.visN);
      const { xs, ys, visIdx } = this;
      for (let k = 0; k < this.visN; k++) {
        const i = visIdx[k]!;
        b.x[k] = xs[k]!;
        b.y[k] = ys[k]!;
        b.state[k] = state[i]!;
        b.moving[k] = moving[i]!;
        b.heading[k] = headingRad[i]!;
      }
      n = this.visN;
      frame.marks = frame.inView;
    }
    frame.buildMs = performance.now() - t0;
    const job: RasterJob = {
      seq,
      width: Math.round(width * dpr),
      height: Math.round(height * dpr),
      dpr,
      radius: vehicleRadius(zoom),
      n,
      ...b,
    };
    return { job, meta: frame };
  }

  private inView(f: DrawFrame, x: number, y: number): boolean {
    const m = CULL_MARGIN_PX;
    return x >= f.pad - m && y >= f.pad - m && x <= f.width - f.pad + m && y <= f.height - f.pad + m;
  }

  /** Project every shown vehicle into the drawn area, keeping those inside it (+margin). */
  private project(f: DrawFrame, scale: number): void {
    const { size, mx, my, shown } = this.opts.points;
    if (this.xs.length < size) {
      this.xs = new Float32Array(size);
      this.ys = new Float32Array(size);
      this.visIdx = new Int32Array(size);
    }
    const { xs, ys, visIdx } = this;
    const m = CULL_MARGIN_PX;
    const maxX = f.width + m;
    const maxY = f.height + m;
    const viewMinX = f.pad - m;
    const viewMinY = f.pad - m;
    const viewMaxX = f.width - f.pad + m;
    const viewMaxY = f.height - f.pad + m;
    let n = 0;
    let shownN = 0;
    let inView = 0;
    for (let i = 0; i < size; i++) {
      if (!shown[i]) continue; // hidden in the legend, or not matching the search
      shownN++;
      const x = mx[i]! * scale - f.ox;
      const y = my[i]! * scale - f.oy;
      if (x < -m || y < -m || x > maxX || y > maxY) continue;
      if (x >= viewMinX && y >= viewMinY && x <= viewMaxX && y <= viewMaxY) inView++;
      xs[n] = x;
      ys[n] = y;
      visIdx[n] = i;
      n++;
    }
    this.visN = n;
    this.proj = f;
    f.shown = shownN;
    f.inView = inView;
  }

  /** The worker's picture for `frame`: show it with its vector shapes, in one step, where it was drawn for. */
  private show(done: RasterDone, frame: DrawFrame): void {
    const map = this.leafletMap;
    const raster = this.raster;
    const canvas = this.canvas;
    const ctx = this.ctx;
    if (!map || !raster || !canvas || !ctx || !this.rasterCtx || !this.container) {
      done.bitmap.close();
      return;
    }
    const t0 = performance.now();
    const { width, height, dpr } = frame;
    for (const c of [raster, canvas]) {
      if (c.style.width !== `${width}px` || c.style.height !== `${height}px`) {
        c.style.width = `${width}px`;
        c.style.height = `${height}px`;
      }
    }
    // the bitmap sets the raster canvas' size; the vector canvas matches it
    this.rasterCtx.transferFromImageBitmap(done.bitmap);
    if (canvas.width !== done.job.width || canvas.height !== done.job.height) {
      canvas.width = done.job.width;
      canvas.height = done.job.height;
      this.overlayDirty = false;
    }
    this.shownFrame = frame;
    this.shownTopLeft = map.unproject([frame.ox, frame.oy], frame.zoom);
    this.place();

    // Vector pass on top: clusters and the selection halo (a few hundred shapes at most).
    if (this.overlayDirty) {
      ctx.setTransform(1, 0, 0, 1, 0, 0);
      ctx.clearRect(0, 0, canvas.width, canvas.height);
      this.overlayDirty = false;
    }
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    if (frame.clustered && frame.clusters.some((cl) => cl.count > 1)) {
      this.drawClusters(ctx, frame.clusters);
      this.overlayDirty = true;
    }
    const selected = this.drawSelection(ctx, frame);
    if (selected) this.overlayDirty = true;

    // where the map is now: the picture may have been drawn for a view the map has since panned away from
    const view = map.getPixelBounds().min!;
    this.opts.onDraw({
      drawn: frame.inView,
      total: this.opts.points.size,
      clusters: frame.clusters.length,
      marks: frame.marks,
      shown: frame.shown,
      alarmClusters: frame.alarmClusters,
      ms: frame.buildMs + (performance.now() - t0),
      rasterMs: done.ms,
      selected: selected ? { x: selected.x + frame.ox - view.x, y: selected.y + frame.oy - view.y } : undefined,
    });
    // Things moved under a still pointer: re-test, and keep a vehicle's tooltip on the vehicle.
    if (this.pointer) this.updateHover(this.pointer, true);
  }

  private drawClusters(ctx: CanvasRenderingContext2D, clusters: readonly ScreenCluster[]): void {
    ctx.textAlign = 'center';
    ctx.textBaseline = 'middle';
    ctx.font = '600 11px system-ui, -apple-system, "Segoe UI", Roboto, sans-serif';
    for (const cl of clusters) {
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

  /** The selected vehicle is always drawn on top with a halo, even inside a cluster (drawn-area px). */
  private drawSelection(ctx: CanvasRenderingContext2D, f: DrawFrame): { x: number; y: number } | undefined {
    if (!this.selectedId) return undefined;
    const i = this.opts.points.indexOf(this.selectedId);
    if (i === undefined) return undefined;
    const scale = this.leafletMap!.options.crs!.scale(f.zoom);
    const x = this.opts.points.mx[i]! * scale - f.ox;
    const y = this.opts.points.my[i]! * scale - f.oy;
    const r = vehicleRadius(f.zoom) + 1.5;
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

  /** Where a cluster of the last projection is on the map. */
  private clusterLatLng(cl: ScreenCluster): L.LatLng | undefined {
    const f = this.proj;
    return f && this.leafletMap ? this.leafletMap.unproject([cl.x + f.ox, cl.y + f.oy], f.zoom) : undefined;
  }

  /** A container point in the coordinates of the last projection (clusters and points are kept in those). */
  private toProjected(p: L.Point): L.Point | undefined {
    const map = this.leafletMap;
    const f = this.proj;
    if (!map || !f || f.zoom !== map.getZoom()) return undefined;
    const view = map.getPixelBounds().min!;
    return L.point(p.x + view.x - f.ox, p.y + view.y - f.oy);
  }

  private hitTest(point: L.Point): HoverTarget | undefined {
    const p = this.toProjected(point);
    const f = this.proj;
    if (!p || !f) return undefined;
    if (f.clustered) {
      let best: ScreenCluster | undefined;
      let bestD = Infinity;
      for (const cl of f.clusters) {
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
          ? this.clusterLatLng(target.cluster)
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
    const center = this.clusterLatLng(target.cluster);
    if (!center) return;
    map.setView(center, Math.max(map.getZoom() + 2, Math.min(this.opts.clusterBelowZoom, map.getMaxZoom())));
  }
}
