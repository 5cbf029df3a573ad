/**
 * The browser console's transport: the DesktopApi carried over one WebSocket to the console host
 * (wire format `ConsoleClientMessage` / `ConsoleServerMessage` in src/shared/desktop-api.ts).
 *
 * - invokes get increasing ids and resolve on the matching `result`;
 * - an invoke issued while the socket is down waits for the next connection (bounded), so callers that
 *   start before the link is up (the store's first snapshot) need no retry logic of their own;
 * - invokes already sent when the socket drops reject at once with code `host-link-lost`: the host may or may
 *   not have run them, and only the caller knows whether repeating is safe;
 * - events go to every client, so after a reconnect nothing is re-subscribed; listeners stay registered here;
 * - the socket reconnects with capped exponential backoff and jitter; the link state is observable so the UI
 *   can say "console link lost" and the store can re-read the snapshot after a reconnect.
 */
import type {
  ConsoleClientMessage,
  ConsoleServerMessage,
  DesktopChannel,
  DesktopEvent,
  DesktopEventMap,
  DesktopInvokeMap,
  DesktopTransport,
  LinkState,
  Unsubscribe,
} from '../../../shared/desktop-api.js';
import { backoffDelay, EQUAL_JITTER } from '../../../shared/backoff.js';
import { isDesktopEvent } from '../../../shared/desktop-api.js';
import { deliverFleetFrame } from '../../../shared/fleet-frame-codec.js';
import { AppError } from '../../../shared/errors.js';

export interface ConsoleTransport extends DesktopTransport {
  link(): LinkState;
  /** binary messages dropped because they were not well-formed fleet frames */
  droppedFrames(): number;
  onLinkChange(cb: (state: LinkState) => void): Unsubscribe;
  dispose(): void;
}

export interface ConsoleTransportOptions {
  url: string;
  /** shown as the link detail when the socket cannot connect (e.g. "no token in the URL") */
  hint?: string;
  /** how long an invoke waits for a connection before it fails */
  connectWaitMs?: number;
  /** how long a sent invoke waits for its result */
  resultTimeoutMs?: number;
  /** injectable for tests (Node has no global WebSocket before v22) */
  WebSocketImpl?: typeof WebSocket;
}

const BACKOFF_MIN_MS = 500;
const BACKOFF_MAX_MS = 10_000;

interface Pending {
  channel: DesktopChannel;
  resolve: (value: unknown) => void;
  reject: (err: Error) => void;
  timer: ReturnType<typeof setTimeout>;
}

interface Waiting {
  send: () => void;
  reject: (err: Error) => void;
  timer: ReturnType<typeof setTimeout>;
}

export function createConsoleTransport(options: ConsoleTransportOptions): ConsoleTransport {
  const WS = options.WebSocketImpl ?? WebSocket;
  const connectWaitMs = options.connectWaitMs ?? 15_000;
  const resultTimeoutMs = options.resultTimeoutMs ?? 60_000;

  let socket: WebSocket | undefined;
  let reconnectTimer: ReturnType<typeof setTimeout> | undefined;
  let disposed = false;
  let nextId = 1;
  /** binary messages that were not fleet frames (dropped; the store's sequence check re-reads the snapshot) */
  let droppedFrames = 0;
  let state: LinkState = { status: 'connecting', since: Date.now(), attempts: 0 };

  const pending = new Map<number, Pending>();
  const waiting = new Set<Waiting>();
  const eventListeners = new Map<DesktopEvent, Set<(payload: unknown) => void>>();
  const linkListeners = new Set<(state: LinkState) => void>();

  function setLink(next: Omit<LinkState, 'since' | 'lastOkAt'>): void {
    const changed = next.status !== state.status;
    state = {
      ...next,
      since: changed ? Date.now() : state.since,
      ...(state.lastOkAt === undefined ? {} : { lastOkAt: state.lastOkAt }),
    };
    for (const cb of [...linkListeners]) cb(state);
  }

  function connect(): void {
    if (disposed) return;
    let ws: WebSocket;
    try {
      ws = new WS(options.url);
    } catch (err) {
      scheduleReconnect(`cannot open the console link: ${String(err)}`);
      return;
    }
    socket = ws;
    // fleet frames come as bytes (src/shared/fleet-frame-codec.ts); everything else as JSON text
    ws.binaryType = 'arraybuffer';
    ws.onopen = () => {
      if (socket !== ws) return;
      state = { ...state, lastOkAt: Date.now() };
      setLink({ status: 'connected', attempts: 0 });
      for (const w of [...waiting]) {
        clearTimeout(w.timer);
        waiting.delete(w);
        w.send();
      }
    };
    ws.onmessage = (ev: MessageEvent) => {
      if (socket !== ws) return;
      state.lastOkAt = Date.now();
      onMessage(ev.data);
    };
    ws.onclose = (ev: CloseEvent) => {
      if (socket !== ws) return;
      socket = undefined;
      failSent(`console link lost (code ${ev.code}${ev.reason ? `: ${ev.reason}` : ''})`);
      const why =
        ev.reason ||
        (state.status === 'connected'
          ? `connection closed (code ${ev.code})`
          : (options.hint ?? `cannot reach the console host (code ${ev.code})`));
      scheduleReconnect(why);
    };
    // onerror is always followed by onclose; the close handler does the bookkeeping.
    ws.onerror = () => undefined;
  }

  function scheduleReconnect(detail: string): void {
    if (disposed) return;
    const attempts = state.attempts + 1;
    setLink({ status: 'reconnecting', attempts, detail });
    const delay = backoffDelay(attempts, { initialMs: BACKOFF_MIN_MS, maxMs: BACKOFF_MAX_MS, maxExponent: 10, jitter: EQUAL_JITTER });
    reconnectTimer = setTimeout(connect, delay);
  }

  function failSent(message: string): void {
    for (const [id, p] of pending) {
      clearTimeout(p.timer);
      pending.delete(id);
      p.reject(new AppError('host-link-lost', `${message} before "${p.channel}" answered`));
    }
  }

  function dispatch(event: DesktopEvent, payload: unknown): void {
    for (const cb of [...(eventListeners.get(event) ?? [])]) {
      try {
        cb(payload);
      } catch (err) {
        // one faulty listener must not starve the others of live data
        console.error(`[bridge] listener for ${event} failed`, err);
      }
    }
  }

  function onMessage(data: unknown): void {
    if (data instanceof ArrayBuffer) {
      // Flow control: the frame is applied (the listeners ran), then acknowledged: the host may send the next one. A
      // host holds back and merges frames for a client that is behind, so the renderer never works through a queue of
      // stale frames.
      if (!deliverFleetFrame(data, (frame) => dispatch('fleet:frame', frame), ack)) {
        droppedFrames++;
        console.warn('[bridge] dropped a binary console message that is not a fleet frame');
      }
      return;
    }
    let msg: ConsoleServerMessage;
    try {
      msg = JSON.parse(typeof data === 'string' ? data : String(data)) as ConsoleServerMessage;
    } catch {
      console.warn('[bridge] dropped a console message that is not JSON');
      return;
    }
    if (msg?.kind === 'result' && typeof msg.id === 'number') {
      const p = pending.get(msg.id);
      if (!p) return; // already timed out or failed on a drop
      pending.delete(msg.id);
      clearTimeout(p.timer);
      if (msg.ok) p.resolve(msg.result);
      else p.reject(new AppError(String(msg.error?.code ?? 'internal'), String(msg.error?.message ?? 'host error')));
      return;
    }
    if (msg?.kind === 'event' && isDesktopEvent(msg.event)) {
      // a host that sends fleet frames as JSON: the same delivery and acknowledgement
      if (msg.event === 'fleet:frame') deliverFleetFrame(msg.payload, (frame) => dispatch('fleet:frame', frame), ack);
      else dispatch(msg.event, msg.payload);
      return;
    }
    console.warn('[bridge] dropped an unknown console message', (msg as { kind?: unknown })?.kind);
  }

  function ack(seq: number): void {
    if (!socket || socket.readyState !== WS.OPEN) return;
    const msg: ConsoleClientMessage = { kind: 'ack', seq };
    try {
      socket.send(JSON.stringify(msg));
    } catch {
      // the socket is closing: its onclose does the bookkeeping, and the next connection starts afresh
    }
  }

  function invoke<C extends DesktopChannel>(channel: C, ...args: DesktopInvokeMap[C]['args']): Promise<DesktopInvokeMap[C]['result']> {
    return new Promise((resolve, reject) => {
      if (disposed) {
        reject(new AppError('host-unavailable', 'the console link was closed'));
        return;
      }
      const send = () => {
        const id = nextId++;
        const msg: ConsoleClientMessage = { kind: 'invoke', id, channel, args };
        const timer = setTimeout(() => {
          pending.delete(id);
          reject(new AppError('host-timeout', `"${channel}" got no answer within ${resultTimeoutMs / 1000} s`));
        }, resultTimeoutMs);
        pending.set(id, { channel, resolve: resolve as (v: unknown) => void, reject, timer });
        try {
          socket!.send(JSON.stringify(msg));
        } catch (err) {
          pending.delete(id);
          clearTimeout(timer);
          reject(new AppError('host-link-lost', `could not send "${channel}": ${String(err)}`));
        }
      };
      if (socket && socket.readyState === WS.OPEN) {
        send();
        return;
      }
      const w: Waiting = {
        send,
        reject,
        timer: setTimeout(() => {
          waiting.delete(w);
          reject(new AppError('host-unavailable', `console host unreachable: "${channel}" not sent (${state.detail ?? state.status})`));
        }, connectWaitMs),
      };
      waiting.add(w);
    });
  }

  function subscribe<E extends DesktopEvent>(event: E, cb: (payload: DesktopEventMap[E]) => void): Unsubscribe {
    let set = eventListeners.get(event);
    if (!set) eventListeners.set(event, (set = new Set()));
    const listener = cb as (payload: unknown) => void;
    set.add(listener);
    return () => {
      set.delete(listener);
    };
  }

  connect();

  return {
    invoke,
    subscribe,
    link: () => state,
    droppedFrames: () => droppedFrames,
    onLinkChange(cb) {
      linkListeners.add(cb);
      return () => {
        linkListeners.delete(cb);
      };
    },
    dispose() {
      disposed = true;
      clearTimeout(reconnectTimer);
      for (const w of waiting) {
        clearTimeout(w.timer);
        w.reject(new AppError('host-unavailable', 'the console link was closed'));
      }
      waiting.clear();
      failSent('console link closed');
      const ws = socket;
      socket = undefined;
      ws?.close();
      setLink({ status: 'offline', attempts: state.attempts, detail: 'closed' });
    },
  };
}
