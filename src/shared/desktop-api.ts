/**
 * The desktop API: the one contract between the renderer and whatever hosts it (Electron's main process
 * through the preload, or the browser console's Node host over a WebSocket). Declared once here:
 * - `DesktopInvokeMap` — request/response calls, keyed by channel name `area:verb`;
 * - `DesktopEventMap` — pushes from the host, keyed by event name `area:event`;
 * - `DesktopApi` — the object the renderer sees, grouped by area, built from a transport by
 *   `createDesktopApi` (used by both the preload and the browser bridge).
 */
import type { LiveDisplayState, VehicleInfo, VehicleLive } from './fleet.js';

export type Unsubscribe = () => void;

export type HostKind = 'electron' | 'browser';

export interface AppInfo {
  name: string;
  version: string;
  host: HostKind;
  /** base URL of the companion server the desktop talks to */
  serverUrl: string;
  /** default map tiles; `{z}/{x}/{y}` template, '' for no tiles */
  tileUrl: string;
  tileAttribution: string;
  /**
   * Base URL the renderer's replica uses for `/sync/v1/...` (HTTP + SSE). Electron: the server URL. Browser
   * console: the console's own origin, which proxies `/sync/v1/*` to the server (so connect-src 'self' covers it).
   */
  syncUrl: string;
  /** who the operator is; sent as `x-fleetdesk-actor` / `x-fleetdesk-role` on sync requests */
  operator: OperatorInfo;
}

export type OperatorRole = 'dispatcher' | 'support' | 'admin';
export const OPERATOR_ROLES = ['dispatcher', 'support', 'admin'] as const satisfies readonly OperatorRole[];

export interface OperatorInfo {
  /** 1–100 characters of A–Z a–z 0–9 _ . @ - */
  id: string;
  role: OperatorRole;
}

/** A coalesced batch of live-state changes; at most 10 per second. */
export interface FleetFrame {
  /** increasing per host; a gap means the renderer should re-read the snapshot */
  seq: number;
  /** host clock, epoch ms */
  at: number;
  upserts: VehicleLive[];
  /** registry entries that changed since the last frame (rare) */
  registry: VehicleInfo[];
}

export interface FleetSnapshot {
  /** seq of the last frame included in this snapshot */
  seq: number;
  at: number;
  vehicles: VehicleLive[];
  registry: VehicleInfo[];
}

export type LinkStatus = 'connecting' | 'connected' | 'reconnecting' | 'offline';

export interface LinkState {
  status: LinkStatus;
  /** epoch ms when this status began */
  since: number;
  /** human-readable reason for the current status (last error, …) */
  detail?: string;
  /** reconnect attempts since the last success */
  attempts: number;
  /** epoch ms of the last message / successful call, if any */
  lastOkAt?: number;
}

/** Health of the integrations the desktop depends on. */
export interface ConnectionState {
  broker: LinkState;
  server: LinkState;
}

export interface FleetCounts {
  total: number;
  byState: Record<LiveDisplayState, number>;
  /** MQTT messages the desktop dropped as malformed, by reason */
  dropped: Record<string, number>;
}

export interface DesktopInvokeMap {
  'app:getInfo': { args: []; result: AppInfo };
  'fleet:getSnapshot': { args: []; result: FleetSnapshot };
  'fleet:getCounts': { args: []; result: FleetCounts };
  'connection:getState': { args: []; result: ConnectionState };
}

export interface DesktopEventMap {
  'fleet:frame': FleetFrame;
  'connection:change': ConnectionState;
}

export type DesktopChannel = keyof DesktopInvokeMap;
export type DesktopEvent = keyof DesktopEventMap;

export const DESKTOP_CHANNELS = ['app:getInfo', 'fleet:getSnapshot', 'fleet:getCounts', 'connection:getState'] as const satisfies readonly DesktopChannel[];
export const DESKTOP_EVENTS = ['fleet:frame', 'connection:change'] as const satisfies readonly DesktopEvent[];

// Compile-time check that the lists above name every key of the maps.
type Missing<All, Listed> = Exclude<All, Listed>;
const _allChannels: Missing<DesktopChannel, (typeof DESKTOP_CHANNELS)[number]> extends never ? true : never = true;
const _allEvents: Missing<DesktopEvent, (typeof DESKTOP_EVENTS)[number]> extends never ? true : never = true;
void _allChannels;
void _allEvents;

export function isDesktopChannel(x: unknown): x is DesktopChannel {
  return typeof x === 'string' && (DESKTOP_CHANNELS as readonly string[]).includes(x);
}
export function isDesktopEvent(x: unknown): x is DesktopEvent {
  return typeof x === 'string' && (DESKTOP_EVENTS as readonly string[]).includes(x);
}

/** What the host implements: one async handler per channel. Used by the Electron IPC and the browser host alike. */
export type DesktopHandlers = {
  [C in DesktopChannel]: (...args: DesktopInvokeMap[C]['args']) => Promise<DesktopInvokeMap[C]['result']>;
};

/** The object the renderer sees (window.fleetdesk in Electron; built by the bridge in the browser). */
export interface DesktopApi {
  app: {
    getInfo(): Promise<AppInfo>;
  };
  fleet: {
    getSnapshot(): Promise<FleetSnapshot>;
    getCounts(): Promise<FleetCounts>;
    onFrame(cb: (frame: FleetFrame) => void): Unsubscribe;
  };
  connection: {
    getState(): Promise<ConnectionState>;
    onChange(cb: (state: ConnectionState) => void): Unsubscribe;
  };
}

/** Errors cross the boundary as `{code, message}`. */
export interface DesktopError {
  code: string;
  message: string;
}

/** The two primitives a host transport must offer; everything else is built on them. */
export interface DesktopTransport {
  invoke<C extends DesktopChannel>(channel: C, ...args: DesktopInvokeMap[C]['args']): Promise<DesktopInvokeMap[C]['result']>;
  subscribe<E extends DesktopEvent>(event: E, cb: (payload: DesktopEventMap[E]) => void): Unsubscribe;
}

export function createDesktopApi(t: DesktopTransport): DesktopApi {
  return {
    app: { getInfo: () => t.invoke('app:getInfo') },
    fleet: {
      getSnapshot: () => t.invoke('fleet:getSnapshot'),
      getCounts: () => t.invoke('fleet:getCounts'),
      onFrame: (cb) => t.subscribe('fleet:frame', cb),
    },
    connection: {
      getState: () => t.invoke('connection:getState'),
      onChange: (cb) => t.subscribe('connection:change', cb),
    },
  };
}

// ---------------------------------------------------------------------------------------------- browser console wire format

/** Messages over the browser console's WebSocket (JSON). */
export type ConsoleClientMessage = { kind: 'invoke'; id: number; channel: DesktopChannel; args: unknown[] };
export type ConsoleServerMessage =
  | { kind: 'result'; id: number; ok: true; result: unknown }
  | { kind: 'result'; id: number; ok: false; error: DesktopError }
  | { kind: 'event'; event: DesktopEvent; payload: unknown };

/** Path of the console's WebSocket endpoint; the per-launch token goes in the `token` query parameter. */
export const CONSOLE_WS_PATH = '/desktop-api';
