import { EventEmitter } from 'node:events';
import { describe, expect, it } from 'vitest';
import type { WebSocket } from 'ws';
import type { DesktopEvent, DesktopEventMap, DesktopHandlers, FleetFrame } from '../../shared/desktop-api.js';
import { silentLogger } from '../log.js';
import type { DesktopEvents } from '../services/desktop-services.js';
import { decodeFleetFrame } from '../../shared/fleet-frame-codec.js';
import { WsApi } from './ws-api.js';

/** Just enough of a ws socket to observe what the API sends and to fake a slow reader. */
class FakeSocket extends EventEmitter {
  readonly OPEN = 1;
  readyState = 1;
  bufferedAmount = 0;
  sent: string[] = [];
  binary: Uint8Array[] = [];
  terminated = false;
  send(data: string | Uint8Array): void {
    if (typeof data === 'string') this.sent.push(data);
    else this.binary.push(data);
  }
  terminate(): void {
    this.terminated = true;
    this.readyState = 3;
  }
  close(): void {
    this.readyState = 3;
  }
  ping(): void {}
}

class Events implements DesktopEvents {
  private readonly cbs = new Map<DesktopEvent, Set<(p: never) => void>>();
  on<E extends DesktopEvent>(event: E, cb: (payload: DesktopEventMap[E]) => void) {
    const set = this.cbs.get(event) ?? new Set();
    this.cbs.set(event, set);
    set.add(cb as (p: never) => void);
    return () => void set.delete(cb as (p: never) => void);
  }
  emit<E extends DesktopEvent>(event: E, payload: DesktopEventMap[E]): void {
    for (const cb of this.cbs.get(event) ?? []) (cb as (p: DesktopEventMap[E]) => void)(payload);
  }
  count(): number {
    return [...this.cbs.values()].reduce((n, s) => n + s.size, 0);
  }
}

const frame = (seq: number): FleetFrame => ({ seq, at: seq, upserts: [], registry: [] });
const seqsSent = (s: FakeSocket) =>
  s.sent
    .map((t) => JSON.parse(t) as { event: string; payload: { seq: number } })
    .filter((m) => m.event === 'fleet:frame')
    .map((m) => m.payload.seq);

describe('WsApi backpressure', () => {
  it('skips frames for a slow client (the seq gap tells it to re-read the snapshot), keeps serving a fast one', () => {
    const events = new Events();
    const api = new WsApi({
      handlers: {} as DesktopHandlers,
      events,
      logger: silentLogger(),
      frameSkipBytes: 1_000,
      terminateBytes: 10_000,
    });
    const fast = new FakeSocket();
    const slow = new FakeSocket();
    api.attach(fast as unknown as WebSocket);
    api.attach(slow as unknown as WebSocket);

    events.emit('fleet:frame', frame(1));
    slow.bufferedAmount = 5_000;
    events.emit('fleet:frame', frame(2));
    events.emit('fleet:frame', frame(3));
    events.emit('connection:change', {
      broker: { status: 'connected', since: 0, attempts: 0 },
      server: { status: 'connected', since: 0, attempts: 0 },
    });
    slow.bufferedAmount = 0;
    events.emit('fleet:frame', frame(4));

    expect(seqsSent(fast)).toEqual([1, 2, 3, 4]);
    expect(seqsSent(slow)).toEqual([1, 4]);
    // connection changes are small and always delivered
    expect(slow.sent.some((t) => t.includes('connection:change'))).toBe(true);

    slow.bufferedAmount = 20_000;
    events.emit('fleet:frame', frame(5));
    expect(slow.terminated).toBe(true);
    expect(seqsSent(fast)).toEqual([1, 2, 3, 4, 5]);

    api.close();
    expect(events.count()).toBe(0);
  });

  it('flow-controls a client that acknowledges: holds frames while two are unacknowledged, then sends them merged', async () => {
    const events = new Events();
    const snapshotSeq = { value: 0 };
    const api = new WsApi({
      handlers: {
        'fleet:getSnapshot': async () => ({ seq: snapshotSeq.value, at: 0, vehicles: [], registry: [] }),
      } as unknown as DesktopHandlers,
      events,
      logger: silentLogger(),
      frameSkipBytes: 1_000,
    });
    const ws = new FakeSocket();
    api.attach(ws as unknown as WebSocket);
    const ack = (seq: number) => ws.emit('message', Buffer.from(JSON.stringify({ kind: 'ack', seq })), false);
    const frames = () =>
      ws.sent
        .map((t) => JSON.parse(t) as { event?: string; payload: FleetFrame })
        .filter((m) => m.event === 'fleet:frame')
        .map((m) => m.payload);

    events.emit('fleet:frame', frame(1));
    ack(1);
    // flow-controlled from now on: the byte limit for skipping no longer applies, nothing is skipped
    ws.bufferedAmount = 5_000;
    events.emit('fleet:frame', frame(2));
    events.emit('fleet:frame', frame(3));
    events.emit('fleet:frame', { ...frame(4), upserts: [{ id: 'a', seq: 4 } as never] });
    events.emit('fleet:frame', { ...frame(5), upserts: [{ id: 'a', seq: 5 } as never] });
    expect(frames().map((f) => f.seq)).toEqual([1, 2, 3]);
    ack(2);
    expect(frames().at(-1)).toEqual({ seq: 5, fromSeq: 4, at: 5, upserts: [{ id: 'a', seq: 5 }], registry: [] });

    // a snapshot read supersedes what is held for the client up to the snapshot's seq
    events.emit('fleet:frame', frame(6));
    snapshotSeq.value = 6;
    ws.emit('message', Buffer.from(JSON.stringify({ kind: 'invoke', id: 1, channel: 'fleet:getSnapshot', args: [] })), false);
    await new Promise((r) => setTimeout(r, 0));
    ack(5);
    expect(frames().map((f) => f.seq)).toEqual([1, 2, 3, 5]);
    events.emit('fleet:frame', frame(7));
    expect(frames().map((f) => f.seq)).toEqual([1, 2, 3, 5, 7]);

    // malformed acknowledgements are ignored
    ws.emit('message', Buffer.from(JSON.stringify({ kind: 'ack', seq: 'x' })), false);
    api.close();
  });

  it('sends fleet frames as bytes to a client that reads them (encoded once for all), JSON events to one that does not', () => {
    const events = new Events();
    const api = new WsApi({ handlers: {} as DesktopHandlers, events, logger: silentLogger() });
    const a = new FakeSocket();
    const b = new FakeSocket();
    const old = new FakeSocket();
    api.attach(a as unknown as WebSocket, { binaryFrames: true });
    api.attach(b as unknown as WebSocket, { binaryFrames: true });
    api.attach(old as unknown as WebSocket);
    const f: FleetFrame = { ...frame(1), upserts: [{ id: 'veh-1', lat: 52.5, lon: 13.4, seq: 3 } as never] };
    events.emit('fleet:frame', f);
    events.emit('auth:change', { status: 'signed_out' });
    expect(a.binary).toHaveLength(1);
    expect(b.binary[0]).toBe(a.binary[0]); // one encoding
    expect(decodeFleetFrame(a.binary[0]!)).toMatchObject({ seq: 1, upserts: [{ id: 'veh-1', lat: 52.5, lon: 13.4, seq: 3 }] });
    expect(a.sent.map((t) => (JSON.parse(t) as { event: string }).event)).toEqual(['auth:change']); // other events stay JSON
    expect(old.binary).toHaveLength(0);
    expect(seqsSent(old)).toEqual([1]);
    api.close();
  });
});
