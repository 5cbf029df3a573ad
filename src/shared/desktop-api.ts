/**
 * The desktop API: the one contract between the renderer and whatever hosts it (Electron's main process
 * through the preload, or the browser console's Node host over a WebSocket). Declared once here:
 * - `DesktopInvokeMap` — request/response calls, keyed by channel name `area:verb`;
 * - `DesktopEventMap` — pushes from the host, keyed by event name `area:event`;
 * - `DesktopApi` — the object the renderer sees, grouped by area, built from a transport by
 *   `createDesktopApi` (used by both the preload and the browser bridge).
 */
import { toErrorPayload, type ErrorPayload } from './errors.js';
import type { LiveDisplayState, VehicleInfo, VehicleLive } from './fleet.js';
import type { OperatorRole } from './operator-role.js';

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
   * Base URL the renderer uses for `/sync/v1/...` (the replica: HTTP + SSE) and the staff API reads under
   * `/ops/v1/...`. Electron: the server URL. Browser console: the console's own origin, which proxies both to
   * the server (so connect-src 'self' covers it).
   */
  syncUrl: string;
}

/** The signed-in staff member (`GET /ops/v1/me`, the login answer's `staff`). */
export interface OperatorInfo {
  /** the staff id: the actor of every audit entry and replica edit */
  id: string;
  name: string;
  role: OperatorRole;
  email: string;
}

/**
 * Staff sign-in, held by the host (Electron main process / console host): the password is used once and the
 * refresh token never leaves the host. The renderer only ever gets short-lived access tokens.
 * - `signed_out`: no session (show the sign-in screen; the replica may still open for the last operator);
 * - `signed_in`: a session; `offline` when the last refresh could not reach the server (kept and retried —
 *   the session is not lost because the server is down).
 */
export interface AuthState {
  status: 'signed_out' | 'signed_in';
  /** the signed-in operator (absent when signed out) */
  operator?: OperatorInfo;
  /** the server could not be reached for the last sign-in/refresh; retried in the background */
  offline?: boolean;
  /** why the last sign-in or refresh failed (e.g. the session expired), for the sign-in screen */
  error?: string;
  /** the host signs in by itself (FLEETDESK_STAFF_EMAIL/PASSWORD) when it can */
  autoSignIn?: boolean;
}

/** A short-lived bearer token for the renderer's own server requests (sync, staff API reads). */
export interface AccessToken {
  token: string;
  /** epoch ms (host clock); ask again before then */
  expiresAt: number;
  operator: OperatorInfo;
}

/** A coalesced batch of live-state changes; at most 10 per second. */
export interface FleetFrame {
  /** increasing per host; a gap means the renderer should re-read the snapshot */
  seq: number;
  /**
   * set when this frame merges the frames `fromSeq`..`seq` (a browser-console client that fell behind gets the
   * latest state of every car they changed in one frame); absent = this frame alone
   */
  fromSeq?: number;
  /** host clock, epoch ms */
  at: number;
  upserts: VehicleLive[];
  /** registry entries that changed since the last frame (rare) */
  registry: VehicleInfo[];
  /**
   * vehicles that left the fleet since the last frame (retired: gone from the server's registry) — rare; the
   * renderer drops them from the map and the grid. Applied before `registry` and `upserts` (a car reinstated later
   * in a merged frame comes back through those).
   */
  removed?: string[];
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

/** What clicking a desktop notification opens: the desk, focused, with this car selected (and the queue, for a summary). */
export interface NoticeTarget {
  vehicleId?: string;
  alertId?: string;
  /** a summary of several alerts: open the alert queue too */
  openAlerts?: boolean;
}

/** A desktop notification (Electron: the OS's, from the main process; browser console: the Web Notifications API). */
export interface DesktopNotice {
  title: string;
  body: string;
  /** notices with the same tag replace each other instead of piling up */
  tag: string;
  target: NoticeTarget;
}

export const NOTICE_LIMITS = { title: 200, body: 1000, tag: 100, id: 100 } as const;

export type NotificationPermissionState = 'granted' | 'denied' | 'default';

/** `shown: false` says why: `unsupported` (no notification service), `permission` (not allowed), `bad_request`. */
export interface NoticeResult {
  shown: boolean;
  reason?: 'unsupported' | 'permission' | 'bad_request';
}

/** A notice from the renderer, checked at the host boundary (bounded strings, known fields only); null if malformed. */
export function parseNotice(x: unknown): DesktopNotice | null {
  const n = x as Partial<DesktopNotice> | null;
  const str = (v: unknown, max: number): v is string => typeof v === 'string' && v.length <= max;
  if (
    !n ||
    typeof n !== 'object' ||
    !str(n.title, NOTICE_LIMITS.title) ||
    !str(n.body, NOTICE_LIMITS.body) ||
    !str(n.tag, NOTICE_LIMITS.tag)
  )
    return null;
  const t = n.target as Partial<NoticeTarget> | null | undefined;
  if (!t || typeof t !== 'object') return null;
  if (t.vehicleId !== undefined && !str(t.vehicleId, NOTICE_LIMITS.id)) return null;
  if (t.alertId !== undefined && !str(t.alertId, NOTICE_LIMITS.id)) return null;
  const target: NoticeTarget = {
    ...(t.vehicleId === undefined ? {} : { vehicleId: t.vehicleId }),
    ...(t.alertId === undefined ? {} : { alertId: t.alertId }),
    ...(t.openAlerts === true ? { openAlerts: true } : {}),
  };
  return { title: n.title, body: n.body, tag: n.tag, target };
}

export interface DesktopInvokeMap {
  'app:getInfo': { args: []; result: AppInfo };
  'fleet:getSnapshot': { args: []; result: FleetSnapshot };
  'fleet:getCounts': { args: []; result: FleetCounts };
  'connection:getState': { args: []; result: ConnectionState };
  'auth:getState': { args: []; result: AuthState };
  /** errors: `invalid_credentials`, `rate_limited`, `server_unreachable`, `bad_request` */
  'auth:signIn': { args: [email: string, password: string]; result: AuthState };
  'auth:signOut': { args: []; result: AuthState };
  /** a valid access token (refreshed by the host when close to expiry); errors: `signed_out`, `server_unreachable` */
  'auth:getAccessToken': { args: []; result: AccessToken };
  /** a desktop notification; clicking it focuses the window and emits `notify:click` with its target */
  'notify:show': { args: [notice: DesktopNotice]; result: NoticeResult };
}

export interface DesktopEventMap {
  'fleet:frame': FleetFrame;
  'connection:change': ConnectionState;
  'auth:change': AuthState;
  'notify:click': NoticeTarget;
}

export type DesktopChannel = keyof DesktopInvokeMap;
export type DesktopEvent = keyof DesktopEventMap;

export const DESKTOP_CHANNELS = [
  'app:getInfo',
  'fleet:getSnapshot',
  'fleet:getCounts',
  'connection:getState',
  'auth:getState',
  'auth:signIn',
  'auth:signOut',
  'auth:getAccessToken',
  'notify:show',
] as const satisfies readonly DesktopChannel[];
export const DESKTOP_EVENTS = [
  'fleet:frame',
  'connection:change',
  'auth:change',
  'notify:click',
] as const satisfies readonly DesktopEvent[];

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
  auth: {
    getState(): Promise<AuthState>;
    signIn(email: string, password: string): Promise<AuthState>;
    signOut(): Promise<AuthState>;
    getAccessToken(): Promise<AccessToken>;
    onChange(cb: (state: AuthState) => void): Unsubscribe;
  };
  /** desktop notifications (Electron: the main process shows them; browser console: the page, for its own origin) */
  notifications: {
    permission(): Promise<NotificationPermissionState>;
    /** asks the operator (browser console; needs a click); Electron has nothing to ask */
    requestPermission(): Promise<NotificationPermissionState>;
    show(notice: DesktopNotice): Promise<NoticeResult>;
    onClick(cb: (target: NoticeTarget) => void): Unsubscribe;
  };
}

/** Errors cross the boundary as `{code, message}`. */
export type DesktopError = ErrorPayload;

/**
 * The one envelope of an invoke's answer, over Electron IPC and the console's WebSocket alike: the result, or the
 * error as `{code, message}` (a thrown error would cross IPC as a bare message string, losing its code).
 */
export type DesktopReply = { ok: true; result: unknown } | { ok: false; error: DesktopError };

/** Runs a channel's handler and puts its outcome in the envelope (both hosts). */
export async function replyTo(handlers: DesktopHandlers, channel: DesktopChannel, args: unknown[]): Promise<DesktopReply> {
  try {
    const handler = handlers[channel] as (...a: unknown[]) => Promise<unknown>;
    return { ok: true, result: await handler(...args) };
  } catch (err) {
    return { ok: false, error: toErrorPayload(err) };
  }
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
    auth: {
      getState: () => t.invoke('auth:getState'),
      signIn: (email, password) => t.invoke('auth:signIn', email, password),
      signOut: () => t.invoke('auth:signOut'),
      getAccessToken: () => t.invoke('auth:getAccessToken'),
      onChange: (cb) => t.subscribe('auth:change', cb),
    },
    notifications: {
      permission: async () => 'granted',
      requestPermission: async () => 'granted',
      show: (notice) => t.invoke('notify:show', notice),
      onClick: (cb) => t.subscribe('notify:click', cb),
    },
  };
}

// ---------------------------------------------------------------------------------------------- browser console wire format

/**
 * Messages over the browser console's WebSocket (JSON). `ack`: the renderer applied every fleet frame up to `seq`
 * (flow control: the host keeps a client at most a couple of frames behind and merges the rest, see frame-flow.ts).
 */
export type ConsoleClientMessage = { kind: 'invoke'; id: number; channel: DesktopChannel; args: unknown[] } | { kind: 'ack'; seq: number };
export type ConsoleServerMessage =
  ({ kind: 'result'; id: number } & DesktopReply) | { kind: 'event'; event: DesktopEvent; payload: unknown };

/**
 * Electron: the renderer's acknowledgement of the fleet frames it applied (`seq`), sent one-way (not an invoke) —
 * the same flow control as the console's `ack` message (src/main/services/frame-link.ts).
 */
export const FLEET_ACK_CHANNEL = 'fleet:ack';

/** Path of the console's WebSocket endpoint; the per-launch token goes in the `token` query parameter. */
export const CONSOLE_WS_PATH = '/desktop-api';
