/**
 * The DesktopApi over a WebSocket: `ConsoleClientMessage` invokes in, `ConsoleServerMessage` results and events
 * out (src/shared/desktop-api.ts). Every incoming message is validated; nothing a client sends can crash the
 * host. Events are serialised once and fanned out. Fleet frames go as bytes (src/shared/fleet-frame-codec.ts) to a
 * client that asked for them on connecting (JSON events otherwise) and are flow-controlled per client (frame-link.ts,
 * shared with Electron's IPC): a renderer acknowledges the frames it applied, and one that falls behind gets the frames
 * meanwhile merged into one (every car's latest state) when it catches up — never a queue of stale frames. A client
 * that does not acknowledge (an older renderer) skips frames above `frameSkipBytes` instead (the seq gap makes it
 * re-read the snapshot). Either way our memory stays bounded.
 */
import type { WebSocket } from 'ws';
import {
  DESKTOP_EVENTS,
  isDesktopChannel,
  replyTo,
  type ConsoleServerMessage,
  type DesktopEvent,
  type DesktopHandlers,
  type FleetFrame,
  type FleetSnapshot,
  type Unsubscribe,
} from '../../shared/desktop-api.js';
import type { Logger } from '../log.js';
import type { DesktopEvents } from '../services/desktop-services.js';
import { FrameLink, sharedEncoder } from '../services/frame-link.js';

export interface WsApiOptions {
  handlers: DesktopHandlers;
  events: DesktopEvents;
  logger: Logger;
  /** above this many buffered bytes a client that does not acknowledge frames skips them (default 4 MiB) */
  frameSkipBytes?: number;
  /** above this many buffered bytes a client is dropped altogether (default 64 MiB) */
  terminateBytes?: number;
  /** interval of ping/pong liveness checks (default 30 000 ms) */
  pingIntervalMs?: number;
}

interface ClientState {
  alive: boolean;
  skippedFrames: number;
  link: FrameLink;
}

export interface AttachOptions {
  /** the client reads fleet frames as bytes (src/shared/fleet-frame-codec.ts); otherwise they go as JSON events */
  binaryFrames?: boolean;
}

const MAX_ARGS = 16;

export class WsApi {
  private readonly clients = new Map<WebSocket, ClientState>();
  private readonly unsubscribers: Unsubscribe[] = [];
  private readonly pingTimer: NodeJS.Timeout;
  /** a frame's bytes and JSON text, made once for every client that gets the frame as it is */
  private readonly frameBytes = sharedEncoder();
  private lastJson: { frame: FleetFrame; text: string } | undefined;

  constructor(private readonly options: WsApiOptions) {
    for (const event of DESKTOP_EVENTS) {
      this.unsubscribers.push(options.events.on(event, (payload) => this.broadcast(event, payload)));
    }
    this.pingTimer = setInterval(() => this.ping(), options.pingIntervalMs ?? 30_000);
    this.pingTimer.unref();
  }

  get clientCount(): number {
    return this.clients.size;
  }

  attach(ws: WebSocket, options: AttachOptions = {}): void {
    const link = new FrameLink((frame) => {
      if (ws.readyState !== ws.OPEN) return;
      if (options.binaryFrames) ws.send(this.frameBytes(frame), { binary: true });
      else ws.send(this.frameJson(frame));
    });
    const state: ClientState = { alive: true, skippedFrames: 0, link };
    this.clients.set(ws, state);
    ws.on('pong', () => {
      state.alive = true;
    });
    ws.on('message', (data, isBinary) => {
      if (isBinary) return;
      void this.onMessage(ws, state, data.toString());
    });
    ws.on('error', (err) => this.options.logger.debug('console client socket error', { err: err.message }));
    ws.on('close', () => this.clients.delete(ws));
  }

  close(): void {
    clearInterval(this.pingTimer);
    for (const u of this.unsubscribers.splice(0)) u();
    for (const ws of this.clients.keys()) ws.close(1001, 'console stopping');
    this.clients.clear();
  }

  private async onMessage(ws: WebSocket, state: ClientState, text: string): Promise<void> {
    let msg: unknown;
    try {
      msg = JSON.parse(text);
    } catch {
      // No id to answer to: ignore. The client's own timeout surfaces it.
      this.options.logger.debug('console client sent invalid JSON; ignored');
      return;
    }
    if (typeof msg !== 'object' || msg === null) return;
    const { kind, id, channel, args, seq } = msg as Record<string, unknown>;
    if (kind === 'ack') {
      state.link.ack(seq);
      return;
    }
    if (kind !== 'invoke' || typeof id !== 'number' || !Number.isSafeInteger(id)) return;
    if (!isDesktopChannel(channel)) {
      this.send(ws, {
        kind: 'result',
        id,
        ok: false,
        error: { code: 'unknown_channel', message: `unknown channel: ${String(channel).slice(0, 64)}` },
      });
      return;
    }
    if (args !== undefined && (!Array.isArray(args) || args.length > MAX_ARGS)) {
      this.send(ws, { kind: 'result', id, ok: false, error: { code: 'bad_request', message: 'args must be an array' } });
      return;
    }
    const reply = await replyTo(this.options.handlers, channel, (args as unknown[] | undefined) ?? []);
    // the snapshot supersedes the frames held back for this client up to its seq
    if (channel === 'fleet:getSnapshot' && reply.ok) state.link.snapshotRead((reply.result as FleetSnapshot).seq);
    this.send(ws, { kind: 'result', id, ...reply });
  }

  private broadcast(event: DesktopEvent, payload: unknown): void {
    if (this.clients.size === 0) return;
    let text: string | undefined;
    const terminateBytes = this.options.terminateBytes ?? 64 * 1024 * 1024;
    const skipBytes = this.options.frameSkipBytes ?? 4 * 1024 * 1024;
    for (const [ws, state] of this.clients) {
      if (ws.readyState !== ws.OPEN) continue;
      if (ws.bufferedAmount > terminateBytes) {
        this.options.logger.warn('console client too slow; disconnected', { buffered: ws.bufferedAmount });
        ws.terminate();
        continue;
      }
      if (event === 'fleet:frame') {
        if (!state.link.controlled && ws.bufferedAmount > skipBytes) {
          state.skippedFrames += 1;
          continue;
        }
        // sent now, or held back and merged into the next frame this client gets
        state.link.offer(payload as FleetFrame);
        continue;
      }
      // serialised once for every client that gets the event as it is
      text ??= JSON.stringify({ kind: 'event', event, payload } satisfies ConsoleServerMessage);
      ws.send(text);
    }
  }

  private frameJson(frame: FleetFrame): string {
    if (this.lastJson?.frame !== frame)
      this.lastJson = {
        frame,
        text: JSON.stringify({ kind: 'event', event: 'fleet:frame', payload: frame } satisfies ConsoleServerMessage),
      };
    return this.lastJson.text;
  }

  private send(ws: WebSocket, msg: ConsoleServerMessage): void {
    if (ws.readyState !== ws.OPEN) return;
    ws.send(JSON.stringify(msg));
  }

  private ping(): void {
    for (const [ws, state] of this.clients) {
      if (!state.alive) {
        ws.terminate();
        continue;
      }
      state.alive = false;
      ws.ping();
    }
  }
}
