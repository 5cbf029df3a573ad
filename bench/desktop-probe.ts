/**
 * bench:desktop's probe instrumentation: where the time from a telemetry publish to the grid cell goes.
 *
 * Nothing here is in the app. In the page, an init script wraps `WebSocket` (before the bridge opens its socket)
 * and notes, for every console message that carries the probe vehicle (fleet frames as bytes or, from an older
 * renderer's host, as JSON), when the renderer's main thread got to it,
 * the host's receive time of that telemetry (`receivedAt`) and the frame's emit time (`at`); it also counts fleet
 * frames and snapshot re-reads (the store's resync after a gap). A MutationObserver notes when the probe's position
 * cell changed text and the next animation frame after it (the frame that paints it). Same machine, one clock:
 *
 *   sent ─ MQTT, host receive ─► receivedAt ─ coalescer ─► frame.at ─ serialise, WebSocket, renderer queue ─► wsAt
 *     ─ store, business index, grid batch, AG Grid ─► domAt ─ next frame ─► paintAt
 */

/** One probe telemetry message as the page saw it (wall clock ms; 0 where a step was not seen). */
export interface ProbeTimes {
  /** the host's receive time of the telemetry (VehicleLive.receivedAt) */
  receivedAt: number;
  /** the frame's emit time on the host (FleetFrame.at); for a snapshot, the snapshot's */
  frameAt: number;
  /** the renderer's main thread handled the WebSocket message */
  wsAt: number;
  /** the message was a snapshot (the store's re-read), not a frame */
  viaSnapshot: boolean;
  /** the grid cell showed the new position */
  domAt: number;
  /** the animation frame after that DOM change (the frame that paints it) */
  paintAt: number;
}

/** The init script (a string: tsx's keepNames helpers do not exist inside the page). */
export function probeInitScript(probeId: string): string {
  return `(() => {
    const probe = ${JSON.stringify(probeId)};
    const w = window;
    const rec = { arrivals: new Map(), frames: 0, snapshots: 0, seen: new Map() };
    w.__probe = rec;
    const Native = w.WebSocket;
    class Watched extends Native {
      constructor(...args) {
        super(...args);
        this.addEventListener('message', (ev) => {
          const at = Date.now();
          if (ev.data instanceof ArrayBuffer) {
            // a fleet frame as bytes (src/shared/fleet-frame-codec.ts): header of 8 float64, then 10 float64 columns
            // (lat first, receivedAt ninth), a flag byte per car, the ids' lengths (uint16) and the ids
            rec.frames++;
            try {
              const h = new Float64Array(ev.data, 0, 8);
              const n = h[4];
              const floatsEnd = (8 + 10 * n) * 8;
              const lengthsAt = floatsEnd + n + ((floatsEnd + n) & 1);
              const lengths = new Uint16Array(ev.data, lengthsAt, n);
              const ids = new TextDecoder().decode(new Uint8Array(ev.data, lengthsAt + 2 * n, h[6]));
              let off = 0;
              for (let i = 0; i < n; i++) {
                if (lengths[i] === probe.length && ids.startsWith(probe, off)) {
                  const f = new Float64Array(ev.data, 0, 8 + 10 * n);
                  const key = f[8 + i].toFixed(5);
                  if (!rec.arrivals.has(key)) rec.arrivals.set(key, { receivedAt: f[8 + 8 * n + i], frameAt: h[2], wsAt: at, viaSnapshot: false });
                  break;
                }
                off += lengths[i];
              }
            } catch (e) {}
            return;
          }
          if (typeof ev.data !== 'string') return;
          const s = ev.data;
          const isFrame = s.startsWith('{"kind":"event","event":"fleet:frame"');
          if (isFrame) rec.frames++;
          const i = s.indexOf('{"id":"' + probe + '"');
          if (i < 0) return;
          try {
            const v = JSON.parse(s.slice(i, s.indexOf('}', i) + 1));
            const m = /"at":(\\d+)/.exec(s);
            const key = Number(v.lat).toFixed(5);
            if (!rec.arrivals.has(key))
              rec.arrivals.set(key, { receivedAt: v.receivedAt, frameAt: m ? Number(m[1]) : 0, wsAt: at, viaSnapshot: !isFrame });
          } catch (e) {}
        });
      }
      send(data) {
        if (typeof data === 'string' && data.includes('"fleet:getSnapshot"')) rec.snapshots++;
        return super.send(data);
      }
    }
    w.WebSocket = Watched;
  })()`;
}

/** Starts watching the probe's position cell (once the grid is filtered to it). */
export function watchCellScript(probeId: string): string {
  return `(() => {
    const rec = window.__probe;
    const sel = '[row-id="${probeId}"] [col-id="position"]';
    let last = null;
    const check = () => {
      const el = document.querySelector(sel);
      const text = el ? el.textContent.trim() : null;
      if (!text || text === last) return;
      last = text;
      const seen = { domAt: Date.now(), paintAt: 0 };
      if (!rec.seen.has(text)) rec.seen.set(text, seen);
      requestAnimationFrame(() => { seen.paintAt = Date.now(); });
    };
    new MutationObserver(check).observe(document.querySelector('[data-testid="vehicle-grid"]'), {
      subtree: true, childList: true, characterData: true,
    });
    check();
  })()`;
}

/** Waits up to `timeoutMs` for the cell to show `expected` and paint it; the times of that sample (domAt 0 if never). */
export function awaitSampleScript(latKey: string, expected: string, timeoutMs: number): string {
  return `(async () => {
    const rec = window.__probe;
    const deadline = performance.now() + ${timeoutMs};
    const key = ${JSON.stringify(expected)};
    for (;;) {
      const seen = rec.seen.get(key);
      if ((seen && seen.paintAt > 0) || performance.now() > deadline) {
        const a = rec.arrivals.get(${JSON.stringify(latKey)});
        return {
          receivedAt: a ? a.receivedAt : 0,
          frameAt: a ? a.frameAt : 0,
          wsAt: a ? a.wsAt : 0,
          viaSnapshot: a ? a.viaSnapshot : false,
          domAt: seen ? seen.domAt : 0,
          paintAt: seen ? seen.paintAt : 0,
        };
      }
      await new Promise((r) => setTimeout(r, 5));
    }
  })()`;
}

export const PROBE_COUNTS_SCRIPT = `(() => ({ frames: window.__probe.frames, snapshots: window.__probe.snapshots }))()`;

/** The steps of a sample, ms (NaN where a step was not seen). */
export function probeSteps(
  sentAt: number,
  t: ProbeTimes,
): Record<'broker→host' | 'coalescer' | 'host→renderer' | 'renderer→DOM' | 'DOM→frame', number> {
  const d = (a: number, b: number) => (a > 0 && b > 0 ? b - a : NaN);
  return {
    'broker→host': d(sentAt, t.receivedAt),
    coalescer: d(t.receivedAt, t.frameAt),
    'host→renderer': d(t.frameAt, t.wsAt),
    'renderer→DOM': d(t.wsAt, t.domAt),
    'DOM→frame': d(t.domAt, t.paintAt),
  };
}
