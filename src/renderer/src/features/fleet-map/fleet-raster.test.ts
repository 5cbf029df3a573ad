import { describe, expect, it } from 'vitest';
import { rasterBuffers, rasterize, type RasterJob } from './fleet-raster';
import { STATE_CODE } from './vehicle-points';
import type { Stamp } from './vehicle-stamps';

/** A one-pixel opaque stamp whose colour word is the state code + 1 (the canvas API is not there in Node). */
function pixelStamp(word: number): Stamp {
  return {
    opaqueDx: Int16Array.of(0),
    opaqueDy: Int16Array.of(0),
    opaqueWord: Uint32Array.of(word),
    edgeDx: new Int16Array(0),
    edgeDy: new Int16Array(0),
    edgeWord: new Uint32Array(0),
    edgeRgba: new Uint8Array(0),
    extent: 0,
    width: 0,
    opaqueOff: new Int32Array(1),
    edgeOff: new Int32Array(0),
  };
}
const stamps = { get: (state: number) => pixelStamp(state + 1) };

function job(markers: Array<[number, number, number]>, width = 8, height = 4, dpr = 1): RasterJob {
  const b = rasterBuffers(markers.length);
  markers.forEach(([x, y, s], k) => {
    b.x[k] = x;
    b.y[k] = y;
    b.state[k] = s;
  });
  return { seq: 1, width, height, dpr, radius: 4, n: markers.length, ...b };
}

function image(w: number, h: number): ImageData {
  return { width: w, height: h, data: new Uint8ClampedArray(w * h * 4), colorSpace: 'srgb' } as ImageData;
}
const words = (img: ImageData) => Array.from(new Uint32Array(img.data.buffer));

describe('rasterize (the fleet map pixel pass, run by the raster worker)', () => {
  it('clears the previous picture and stamps every marker at its device pixel', () => {
    const img = image(8, 4);
    img.data.fill(7); // last frame's pixels
    rasterize(job([[1, 1, STATE_CODE.available]]), img, stamps);
    const w = words(img);
    expect(w[1 * 8 + 1]).toBe(STATE_CODE.available + 1);
    expect(w.filter((x) => x !== 0)).toHaveLength(1);
  });

  it('paints alarms over everything and offline cars under everything, whatever the order of the markers', () => {
    const img = image(8, 4);
    rasterize(
      job([
        [2, 2, STATE_CODE.alarm],
        [2, 2, STATE_CODE.offline],
        [2, 2, STATE_CODE.in_rental],
        [5, 1, STATE_CODE.in_rental],
        [5, 1, STATE_CODE.offline],
      ]),
      img,
      stamps,
    );
    const w = words(img);
    expect(w[2 * 8 + 2]).toBe(STATE_CODE.alarm + 1);
    expect(w[1 * 8 + 5]).toBe(STATE_CODE.in_rental + 1);
  });

  it('scales CSS px by the device pixel ratio, uses only the first n markers and clips at the edges', () => {
    const img = image(8, 4);
    const j = job([
      [1.5, 0.5, STATE_CODE.reserved],
      [30, 30, STATE_CODE.reserved], // outside: clipped, no throw
      [0, 0, STATE_CODE.alarm],
    ]);
    j.dpr = 2;
    j.n = 2; // the third marker is a leftover of a bigger job's buffer
    rasterize(j, img, stamps);
    const w = words(img);
    expect(w[1 * 8 + 3]).toBe(STATE_CODE.reserved + 1);
    expect(w.filter((x) => x !== 0)).toHaveLength(1);
  });
});
