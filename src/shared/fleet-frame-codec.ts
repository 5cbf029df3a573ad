/**
 * A fleet frame as bytes: the compact wire form of `FleetFrame` between a host and its renderer (the browser console's
 * WebSocket sends it as one binary message).
 *
 * At 20,000 cars at 1 Hz a frame carries ~2,000 car states ten times a second. As JSON each state repeats its 14
 * field names and spells every number in decimal: ~5 MB/s the host stringifies and the renderer's main thread parses
 * back into objects. Here the states are columns — one Float64Array per numeric field, one byte of flags per car, the
 * ids as one string — about half the bytes, written and read with no text formatting or parsing of numbers. The
 * registry entries a frame rarely carries stay JSON at the end.
 *
 * Layout (little-endian): a header of 8 float64 (format version, seq, at, fromSeq or NaN, car count, registry bytes,
 * id bytes, removed bytes), the float64 columns (FLOAT_FIELDS order; `staleAgeMs` NaN when absent), one flag byte
 * per car (ignition 1, locked 2, doorsClosed 4, online 8), the UTF-16 length of each id (uint16), the ids
 * concatenated (UTF-8), the registry as JSON (UTF-8), the removed ids as a JSON array (UTF-8; the rare retirement).
 *
 * `decodeFleetFrame` checks every length against the bytes it got and throws on anything malformed: the caller drops
 * and counts such a message (a gap in the sequence then makes the store re-read the snapshot).
 */
import type { FleetFrame } from './desktop-api.js';
import type { VehicleInfo, VehicleLive } from './fleet.js';

export const FLEET_FRAME_FORMAT = 1;

const FLOAT_FIELDS = [
  'lat',
  'lon',
  'speedKph',
  'headingDeg',
  'energyPct',
  'odometerKm',
  'seq',
  'deviceTs',
  'receivedAt',
  'staleAgeMs',
] as const satisfies ReadonlyArray<keyof VehicleLive>;
const HEADER = 8;
/** a vehicle id is at most 64 characters (device protocol); anything up to this length still encodes */
const MAX_ID_LENGTH = 0xffff;

/** Where each FLOAT_FIELDS column starts in the float64 view of a frame of `n` cars. */
function columnStarts(n: number): number[] {
  return FLOAT_FIELDS.map((_, c) => HEADER + c * n);
}

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });

/** The frame as bytes (a fresh buffer the caller may send or transfer). */
export function encodeFleetFrame(frame: FleetFrame): Uint8Array {
  const cars = frame.upserts;
  const n = cars.length;
  let joined = '';
  const idLengths = new Uint16Array(n);
  for (let i = 0; i < n; i++) {
    const id = cars[i]!.id;
    if (id.length > MAX_ID_LENGTH) throw new RangeError(`vehicle id longer than ${MAX_ID_LENGTH}`);
    idLengths[i] = id.length;
    joined += id;
  }
  const idBytes = encoder.encode(joined);
  const registryBytes = frame.registry.length > 0 ? encoder.encode(JSON.stringify(frame.registry)) : new Uint8Array(0);
  const removedBytes = frame.removed?.length ? encoder.encode(JSON.stringify(frame.removed)) : new Uint8Array(0);
  const floatsEnd = (HEADER + FLOAT_FIELDS.length * n) * 8;
  const flagsEnd = floatsEnd + n;
  const lengthsAt = flagsEnd + (flagsEnd & 1); // uint16 alignment
  const idsAt = lengthsAt + 2 * n;
  const bytes = new Uint8Array(idsAt + idBytes.length + registryBytes.length + removedBytes.length);
  const f = new Float64Array(bytes.buffer, 0, HEADER + FLOAT_FIELDS.length * n);
  f[0] = FLEET_FRAME_FORMAT;
  f[1] = frame.seq;
  f[2] = frame.at;
  f[3] = frame.fromSeq ?? NaN;
  f[4] = n;
  f[5] = registryBytes.length;
  f[6] = idBytes.length;
  f[7] = removedBytes.length;
  // one pass over the cars, each field read by name
  const [lat, lon, speed, heading, energy, odometer, vseq, deviceTs, receivedAt, stale] = columnStarts(n);
  for (let i = 0; i < n; i++) {
    const v = cars[i]!;
    f[lat! + i] = v.lat;
    f[lon! + i] = v.lon;
    f[speed! + i] = v.speedKph;
    f[heading! + i] = v.headingDeg;
    f[energy! + i] = v.energyPct;
    f[odometer! + i] = v.odometerKm;
    f[vseq! + i] = v.seq;
    f[deviceTs! + i] = v.deviceTs;
    f[receivedAt! + i] = v.receivedAt;
    f[stale! + i] = v.staleAgeMs ?? NaN;
    bytes[floatsEnd + i] = (v.ignition ? 1 : 0) | (v.locked ? 2 : 0) | (v.doorsClosed ? 4 : 0) | (v.online ? 8 : 0);
  }
  new Uint16Array(bytes.buffer, lengthsAt, n).set(idLengths);
  bytes.set(idBytes, idsAt);
  bytes.set(registryBytes, idsAt + idBytes.length);
  bytes.set(removedBytes, idsAt + idBytes.length + registryBytes.length);
  return bytes;
}

/** The frame the bytes hold; throws a RangeError on bytes that are not a well-formed frame of this format. */
export function decodeFleetFrame(input: ArrayBuffer | Uint8Array): FleetFrame {
  // a copy when the bytes sit at an offset that breaks float64 alignment (e.g. a slice of a Node Buffer pool)
  const bytes = input instanceof Uint8Array ? (input.byteOffset % 8 === 0 ? input : new Uint8Array(input)) : new Uint8Array(input);
  const bad = (why: string) => new RangeError(`not a fleet frame: ${why}`);
  if (bytes.byteLength < HEADER * 8) throw bad('too short');
  const header = new Float64Array(bytes.buffer, bytes.byteOffset, HEADER);
  if (header[0] !== FLEET_FRAME_FORMAT) throw bad(`format ${header[0]}`);
  const [, seq, at, fromSeq, n, registryLength, idLength, removedLength] = header as unknown as number[];
  for (const x of [seq!, at!, n!, registryLength!, idLength!, removedLength!]) if (!Number.isSafeInteger(x) || x! < 0) throw bad('header');
  if (!Number.isNaN(fromSeq) && !(Number.isSafeInteger(fromSeq) && fromSeq! <= seq!)) throw bad('fromSeq');
  const floatsEnd = (HEADER + FLOAT_FIELDS.length * n!) * 8;
  const flagsEnd = floatsEnd + n!;
  const lengthsAt = flagsEnd + (flagsEnd & 1);
  const idsAt = lengthsAt + 2 * n!;
  const registryAt = idsAt + idLength!;
  const removedAt = registryAt + registryLength!;
  if (bytes.byteLength !== removedAt + removedLength!) throw bad('length');
  const f = new Float64Array(bytes.buffer, bytes.byteOffset, HEADER + FLOAT_FIELDS.length * n!);
  const idLengths = new Uint16Array(bytes.buffer, bytes.byteOffset + lengthsAt, n!);
  let ids: string;
  let registry: VehicleInfo[] = [];
  let removed: unknown = [];
  try {
    ids = decoder.decode(bytes.subarray(idsAt, registryAt));
    if (registryLength! > 0) registry = JSON.parse(decoder.decode(bytes.subarray(registryAt, removedAt))) as VehicleInfo[];
    if (removedLength! > 0) removed = JSON.parse(decoder.decode(bytes.subarray(removedAt)));
  } catch {
    throw bad('text');
  }
  if (!Array.isArray(registry)) throw bad('registry');
  if (!Array.isArray(removed) || !removed.every((id) => typeof id === 'string')) throw bad('removed');
  const upserts: VehicleLive[] = new Array<VehicleLive>(n!);
  const [lat, lon, speed, heading, energy, odometer, vseq, deviceTs, receivedAt, stale] = columnStarts(n!);
  let idAt = 0;
  for (let i = 0; i < n!; i++) {
    const id = ids.slice(idAt, idAt + idLengths[i]!);
    idAt += idLengths[i]!;
    const flags = bytes[floatsEnd + i]!;
    const v: VehicleLive = {
      id,
      lat: f[lat! + i]!,
      lon: f[lon! + i]!,
      speedKph: f[speed! + i]!,
      headingDeg: f[heading! + i]!,
      energyPct: f[energy! + i]!,
      odometerKm: f[odometer! + i]!,
      ignition: (flags & 1) !== 0,
      locked: (flags & 2) !== 0,
      doorsClosed: (flags & 4) !== 0,
      online: (flags & 8) !== 0,
      seq: f[vseq! + i]!,
      deviceTs: f[deviceTs! + i]!,
      receivedAt: f[receivedAt! + i]!,
    };
    const staleAgeMs = f[stale! + i]!;
    if (!Number.isNaN(staleAgeMs)) v.staleAgeMs = staleAgeMs;
    upserts[i] = v;
  }
  if (idAt !== ids.length) throw bad('ids');
  return {
    seq: seq!,
    ...(Number.isNaN(fromSeq) ? {} : { fromSeq: fromSeq! }),
    at: at!,
    upserts,
    registry,
    ...(removedLength! > 0 ? { removed: removed as string[] } : {}),
  };
}

/**
 * The renderer's side of a fleet frame message, one for every transport (the console's WebSocket, Electron's preload):
 * the frame (bytes are decoded; an object is a frame as it is) goes to `deliver`, then `ack` tells the host it was
 * applied — flow control: the host sends the next frame only then (src/main/services/frame-link.ts). Bytes that are not
 * a frame are dropped and not acknowledged (false): the gap in the sequence makes the store re-read the snapshot.
 */
export function deliverFleetFrame(payload: unknown, deliver: (frame: FleetFrame) => void, ack: (seq: number) => void): boolean {
  let frame: FleetFrame;
  if (payload instanceof ArrayBuffer || payload instanceof Uint8Array) {
    try {
      frame = decodeFleetFrame(payload);
    } catch {
      return false;
    }
  } else if (typeof payload === 'object' && payload !== null && typeof (payload as FleetFrame).seq === 'number') {
    frame = payload as FleetFrame;
  } else {
    return false;
  }
  deliver(frame);
  ack(frame.seq);
  return true;
}
