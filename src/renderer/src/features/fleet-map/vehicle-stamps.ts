/**
 * Vehicle markers stamped straight into a pixel buffer.
 *
 * Why not canvas paths or drawImage: with 20,000 vehicles both spend their frame in rasterisation — arcs in
 * Skia's path raster at paint time (invisible to a JS timer, since canvas work is deferred), drawImage in
 * per-call overhead — 80–300 ms per frame without a GPU. Writing the few dozen pixels of each marker into one
 * ImageData and putting it once costs a few milliseconds for the whole fleet, with or without a GPU.
 *
 * Each marker is rendered once with the canvas API (anti-aliased), read back, and kept as a list of
 * non-transparent pixels: opaque ones are copied as one 32-bit word, edge pixels are alpha-blended.
 * One stamp per business state and radius, plus one per 10° heading bucket for moving vehicles (the heading tick:
 * moving/parked stays visible whatever the business state).
 */
import { BUSINESS_STATE_COLORS } from '../../data/business-state';
import { ALARM_CODE, STATE_ORDER } from './vehicle-points';

export const HEADING_BUCKETS = 36;
const TICK_PX = 5;
const ALARM_RING_PX = 4;

export interface Stamp {
  /** opaque pixels: offsets from the vehicle's device pixel, and their packed RGBA (frame buffer byte order) */
  opaqueDx: Int16Array;
  opaqueDy: Int16Array;
  opaqueWord: Uint32Array;
  /** anti-aliased edge pixels: offsets, colour and alpha, blended onto what is already there */
  edgeDx: Int16Array;
  edgeDy: Int16Array;
  edgeWord: Uint32Array;
  edgeRgba: Uint8Array;
  /** max |dx|, |dy|: a stamp this far from every edge needs no clipping */
  extent: number;
  /** linear offsets (dy × width + dx) for the frame width they were computed for */
  width: number;
  opaqueOff: Int32Array;
  edgeOff: Int32Array;
}

export class VehicleStamps {
  private cache = new Map<string, Stamp>();
  private dpr = 0;

  get(stateCode: number, moving: boolean, radius: number, headingRad: number, dpr: number): Stamp {
    if (dpr !== this.dpr) {
      this.cache.clear();
      this.dpr = dpr;
    }
    let bucket = -1;
    if (moving) {
      bucket = Math.round((headingRad / (2 * Math.PI)) * HEADING_BUCKETS) % HEADING_BUCKETS;
      if (bucket < 0) bucket += HEADING_BUCKETS;
    }
    const key = `${stateCode}:${radius}:${bucket}`;
    let stamp = this.cache.get(key);
    if (!stamp) {
      stamp = renderStamp(stateCode, radius, bucket, dpr);
      this.cache.set(key, stamp);
    }
    return stamp;
  }
}

function renderStamp(stateCode: number, radius: number, bucket: number, dpr: number): Stamp {
  const alarm = stateCode === ALARM_CODE;
  const reach = radius + (bucket >= 0 ? TICK_PX + 1 : alarm ? ALARM_RING_PX + 2 : 2);
  const half = Math.ceil(reach * dpr);
  const side = half * 2 + 1;
  const ctx = stampContext(side);
  // centre of the middle pixel, so the marker is symmetric around the vehicle's pixel
  ctx.translate(half + 0.5, half + 0.5);
  ctx.scale(dpr, dpr);
  const color = BUSINESS_STATE_COLORS[STATE_ORDER[stateCode]!];
  if (bucket >= 0) {
    const a = (bucket / HEADING_BUCKETS) * 2 * Math.PI;
    ctx.beginPath();
    ctx.moveTo(Math.sin(a) * radius, -Math.cos(a) * radius);
    ctx.lineTo(Math.sin(a) * (radius + TICK_PX), -Math.cos(a) * (radius + TICK_PX));
    ctx.lineWidth = 2;
    ctx.lineCap = 'round';
    ctx.strokeStyle = color;
    ctx.stroke();
  }
  if (alarm) {
    // an alarm car carries a ring, so it stands out among hundreds of dots at any zoom
    ctx.beginPath();
    ctx.arc(0, 0, radius + ALARM_RING_PX, 0, Math.PI * 2);
    ctx.lineWidth = 2;
    ctx.strokeStyle = color;
    ctx.stroke();
  }
  ctx.beginPath();
  ctx.arc(0, 0, radius, 0, Math.PI * 2);
  ctx.fillStyle = color;
  ctx.fill();
  ctx.lineWidth = 1.25;
  ctx.strokeStyle = 'rgba(255,255,255,0.95)';
  ctx.stroke();

  const data = ctx.getImageData(0, 0, side, side).data;
  const words = new Uint32Array(data.buffer.slice(0));
  const opaque: { dx: number[]; dy: number[]; word: number[] } = { dx: [], dy: [], word: [] };
  const edge: { dx: number[]; dy: number[]; word: number[]; rgba: number[] } = { dx: [], dy: [], word: [], rgba: [] };
  for (let y = 0; y < side; y++) {
    for (let x = 0; x < side; x++) {
      const p = y * side + x;
      const a = data[p * 4 + 3]!;
      if (a < 24) continue; // faint fringe: not worth a blend
      const target = a >= 250 ? opaque : edge;
      target.dx.push(x - half);
      target.dy.push(y - half);
      target.word.push(words[p]!);
      if (target === edge) edge.rgba.push(data[p * 4]!, data[p * 4 + 1]!, data[p * 4 + 2]!, a);
    }
  }
  return {
    opaqueDx: Int16Array.from(opaque.dx),
    opaqueDy: Int16Array.from(opaque.dy),
    opaqueWord: Uint32Array.from(opaque.word),
    edgeDx: Int16Array.from(edge.dx),
    edgeDy: Int16Array.from(edge.dy),
    edgeWord: Uint32Array.from(edge.word),
    edgeRgba: Uint8Array.from(edge.rgba),
    extent: half,
    width: 0,
    opaqueOff: new Int32Array(opaque.dx.length),
    edgeOff: new Int32Array(edge.dx.length),
  };
}

/** A scratch 2D context of `side`² pixels: an OffscreenCanvas (also inside the raster worker, which has no document). */
function stampContext(side: number): CanvasRenderingContext2D | OffscreenCanvasRenderingContext2D {
  if (typeof OffscreenCanvas !== 'undefined') return new OffscreenCanvas(side, side).getContext('2d', { willReadFrequently: true })!;
  const canvas = document.createElement('canvas');
  canvas.width = side;
  canvas.height = side;
  return canvas.getContext('2d', { willReadFrequently: true })!;
}

function prepareOffsets(s: Stamp, w: number): void {
  for (let j = 0; j < s.opaqueOff.length; j++) s.opaqueOff[j] = s.opaqueDy[j]! * w + s.opaqueDx[j]!;
  for (let j = 0; j < s.edgeOff.length; j++) s.edgeOff[j] = s.edgeDy[j]! * w + s.edgeDx[j]!;
  s.width = w;
}

/**
 * Stamp a marker at device pixel (px, py) into an RGBA buffer of width `w` and height `h`.
 * `bytes` and `words` are two views of the same ImageData buffer. Hot loop: integer maths only.
 */
export function stamp(bytes: Uint8ClampedArray, words: Uint32Array, w: number, h: number, s: Stamp, px: number, py: number): void {
  if (px + s.extent < 0 || py + s.extent < 0 || px - s.extent >= w || py - s.extent >= h) return;
  if (px - s.extent < 0 || py - s.extent < 0 || px + s.extent >= w || py + s.extent >= h) {
    stampClipped(bytes, words, w, h, s, px, py);
    return;
  }
  if (s.width !== w) prepareOffsets(s, w);
  const base = py * w + px;
  const opaqueOff = s.opaqueOff;
  const opaqueWord = s.opaqueWord;
  for (let j = 0; j < opaqueOff.length; j++) words[base + opaqueOff[j]!] = opaqueWord[j]!;
  const edgeOff = s.edgeOff;
  for (let j = 0; j < edgeOff.length; j++) blend(bytes, words, base + edgeOff[j]!, s, j);
}

function stampClipped(bytes: Uint8ClampedArray, words: Uint32Array, w: number, h: number, s: Stamp, px: number, py: number): void {
  for (let j = 0; j < s.opaqueDx.length; j++) {
    const x = px + s.opaqueDx[j]!;
    const y = py + s.opaqueDy[j]!;
    if (x >= 0 && y >= 0 && x < w && y < h) words[y * w + x] = s.opaqueWord[j]!;
  }
  for (let j = 0; j < s.edgeDx.length; j++) {
    const x = px + s.edgeDx[j]!;
    const y = py + s.edgeDy[j]!;
    if (x >= 0 && y >= 0 && x < w && y < h) blend(bytes, words, y * w + x, s, j);
  }
}

/** "Source over" for an edge pixel; onto an empty pixel it is a plain copy (the common case). */
function blend(bytes: Uint8ClampedArray, words: Uint32Array, p: number, s: Stamp, j: number): void {
  const o = p << 2;
  const da = bytes[o + 3]!;
  if (da === 0) {
    words[p] = s.edgeWord[j]!;
    return;
  }
  const q = j << 2;
  const a = s.edgeRgba[q + 3]!;
  const ia = 255 - a;
  bytes[o] = (s.edgeRgba[q]! * a + bytes[o]! * ia) >> 8;
  bytes[o + 1] = (s.edgeRgba[q + 1]! * a + bytes[o + 1]! * ia) >> 8;
  bytes[o + 2] = (s.edgeRgba[q + 2]! * a + bytes[o + 2]! * ia) >> 8;
  if (a > da) bytes[o + 3] = a;
}
