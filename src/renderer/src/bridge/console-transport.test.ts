import { afterEach, describe, expect, it, vi } from 'vitest';
import type { ConsoleClientMessage } from '../../../shared/desktop-api.js';
import { encodeFleetFrame } from '../../../shared/fleet-frame-codec.js';
import { liveVehicle } from '../testing/fixtures';
import { createConsoleTransport, type ConsoleTransport } from './console-transport';

/** Just enough of a browser WebSocket for the transport; tests drive open/message/close by hand. */
class FakeSocket {
  static readonly OPEN = 1;
  static instances: FakeSocket[] = [];
  readyState = 0;
  sent: ConsoleClientMessage[] = [];
  onopen: (() => void) | null = null;
  onmessage: ((ev: { data: string | ArrayBuffer }) => void) | null = null;
  onclose: ((ev: { code: number; reason: string }) => void) | null = null;
  onerror: (() => void) | null = null;
  constructor(readonly url: string) {
    FakeSocket.instances.push(this);
  }
  send(data: string) {
    this.sent.push(JSON.parse(data) as ConsoleClientMessage);
  }
  /** the invokes sent, in order (acks left out) */
  get invokes() {
    return this.sent.filter((m): m is Extract<ConsoleClientMessage, { kind: 'invoke' }> => m.kind === 'invoke');
  }
  close() {
    this.drop(1000);
  }
  open() {
    this.readyState = 1;
    this.onopen?.();
  }
  receive(msg: unknown) {
    this.onmessage?.({ data: JSON.stringify(msg) });
  }
  receiveBytes(bytes: Uint8Array) {
    this.onmessage?.({ data: bytes.slice().buffer });
  }
  drop(code = 1006) {
    this.readyState = 3;
    this.onclose?.({ code, reason: '' });
  }
}

let transport: ConsoleTransport | undefined;
afterEach(() => {
  transport?.dispose();
  FakeSocket.instances = [];
  vi.useRealTimers();
});

function make() {
  transport = createConsoleTransport({
    url: 'ws://h/desktop-api?token=t',
    WebSocketImpl: FakeSocket as unknown as typeof WebSocket,
    connectWaitMs: 1000,
  });
  return transport;
}

describe('console transport', () => {
  it('sends an invoke issued before the socket opens, and resolves it with the result', async () => {
    const t = make();
    const info = t.invoke('app:getInfo');
    const ws = FakeSocket.instances[0]!;
    ws.open();
    expect(t.link().status).toBe('connected');
    const sent = ws.invokes[0]!;
    expect(sent).toMatchObject({ kind: 'invoke', channel: 'app:getInfo', args: [] });
    ws.receive({ kind: 'result', id: sent.id, ok: true, result: { name: 'Fleetdesk' } });
    await expect(info).resolves.toEqual({ name: 'Fleetdesk' });
  });

  it('turns host errors into Errors with a code', async () => {
    const t = make();
    const ws = FakeSocket.instances[0]!;
    ws.open();
    const p = t.invoke('fleet:getSnapshot');
    ws.receive({ kind: 'result', id: ws.invokes[0]!.id, ok: false, error: { code: 'not-ready', message: 'fleet not loaded' } });
    await expect(p).rejects.toMatchObject({ code: 'not-ready', message: 'fleet not loaded' });
  });

  it('rejects sent invokes when the link drops, then reconnects with backoff and keeps listeners', async () => {
    vi.useFakeTimers();
    const t = make();
    const frames: unknown[] = [];
    t.subscribe('fleet:frame', (f) => frames.push(f));
    FakeSocket.instances[0]!.open();
    const p = t.invoke('fleet:getSnapshot');
    FakeSocket.instances[0]!.drop();
    await expect(p).rejects.toMatchObject({ code: 'host-link-lost' });
    expect(t.link()).toMatchObject({ status: 'reconnecting', attempts: 1 });
    await vi.advanceTimersByTimeAsync(1000);
    const ws2 = FakeSocket.instances[1]!;
    ws2.open();
    expect(t.link()).toMatchObject({ status: 'connected', attempts: 0 });
    ws2.receive({ kind: 'event', event: 'fleet:frame', payload: { seq: 1 } });
    expect(frames).toEqual([{ seq: 1 }]);
  });

  it('acknowledges each fleet frame once its listeners ran (the host flow-controls frames on it)', () => {
    const t = make();
    const ws = FakeSocket.instances[0]!;
    ws.open();
    const order: string[] = [];
    t.subscribe('fleet:frame', (f) => {
      order.push(`applied ${f.seq}`);
      expect(ws.sent.filter((m) => m.kind === 'ack')).toHaveLength(f.seq - 7); // not acknowledged before applied
    });
    ws.receive({ kind: 'event', event: 'fleet:frame', payload: { seq: 7 } });
    ws.receive({ kind: 'event', event: 'fleet:frame', payload: { seq: 8, fromSeq: 8 } });
    // other events are not acknowledged
    ws.receive({ kind: 'event', event: 'auth:change', payload: { status: 'signed_out' } });
    expect(order).toEqual(['applied 7', 'applied 8']);
    expect(ws.sent).toEqual([
      { kind: 'ack', seq: 7 },
      { kind: 'ack', seq: 8 },
    ]);
  });

  it('reads fleet frames sent as bytes, acknowledges them once applied, and drops (and counts) bytes that are not a frame', () => {
    const t = make();
    const ws = FakeSocket.instances[0]!;
    ws.open();
    const got: unknown[] = [];
    t.subscribe('fleet:frame', (f) => got.push(f));
    const frame = {
      seq: 4,
      fromSeq: 2,
      at: 10,
      upserts: [liveVehicle('veh-1', { speedKph: 30, headingDeg: 90, seq: 9, deviceTs: 5, receivedAt: 6 })],
      registry: [],
    };
    ws.receiveBytes(encodeFleetFrame(frame));
    expect(got).toEqual([frame]);
    expect(ws.sent).toEqual([{ kind: 'ack', seq: 4 }]);
    vi.spyOn(console, 'warn').mockImplementation(() => undefined);
    ws.receiveBytes(new Uint8Array([1, 2, 3]));
    expect(got).toHaveLength(1);
    expect(ws.sent).toHaveLength(1); // not acknowledged: the gap makes the store re-read the snapshot
    expect(t.droppedFrames()).toBe(1);
    vi.restoreAllMocks();
  });
});
