/**
 * Composition of the main-process services: broker feed → live fleet → frame coalescer, plus the server link,
 * behind the `DesktopHandlers` map and a typed event source. Hosted identically by Electron (IPC) and by the
 * browser console (WebSocket); neither host adds behaviour of its own.
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  parseNotice,
  type AppInfo,
  type ConnectionState,
  type DesktopEvent,
  type DesktopEventMap,
  type DesktopHandlers,
  type DesktopNotice,
  type HostKind,
  type Unsubscribe,
} from '../../shared/desktop-api.js';
import { createLogger, type Logger } from '../log.js';
import type { BackoffOptions } from './backoff.js';
import { FrameCoalescer, markFleetChanges } from './frame-coalescer.js';
import { LiveFleet } from './live-fleet.js';
import { ServerLink } from './server-link.js';
import { StaffSession, type SessionVault } from './staff-session.js';
import { TelemetryFeed } from './telemetry-feed.js';

export const DEFAULT_TILE_URL = 'https://tile.openstreetmap.org/{z}/{x}/{y}.png';
export const DEFAULT_TILE_ATTRIBUTION = '© <a href="https://www.openstreetmap.org/copyright">OpenStreetMap</a> contributors';

export interface DesktopServicesConfig {
  mqttUrl: string;
  serverUrl: string;
  mqttUsername?: string;
  mqttPassword?: string;
  /** mqtts: the CA certificate(s) (PEM) the broker's certificate must chain to (FLEETDESK_MQTT_CA_FILE) */
  mqttCa?: string;
  /** `{z}/{x}/{y}` template; '' = no tiles; default OpenStreetMap */
  tileUrl?: string;
  tileAttribution?: string;
  /** a directory of `{z}/{x}/{y}.png` tiles the browser console serves itself (offline sites); wins over tileUrl */
  tileDir?: string;
  host: HostKind;
  /** base URL for the renderer's `/sync/v1` requests (default: serverUrl; the browser console passes its origin) */
  syncUrl?: string;
  /** demo / tests: sign in as this staff member by itself (FLEETDESK_STAFF_EMAIL / FLEETDESK_STAFF_PASSWORD) */
  staffCredentials?: { email: string; password: string };
  /** keeps the staff session across restarts (Electron: safeStorage); none = sign in again after a restart */
  sessionVault?: SessionVault;
  /** shows desktop notifications (Electron's main process); none = `notify:show` answers `unsupported` (the browser console's page shows its own) */
  notifier?: DesktopNotifier;
  /** min ms between fleet frames (default 100) */
  frameIntervalMs?: number;
  /** a silent vehicle turns offline after this (default 120 000 ms) */
  heartbeatTimeoutMs?: number;
  /** app version; default: read from package.json at runtime */
  version?: string;
  logger?: Logger;
  /** knobs for tests and benchmarks; production uses the defaults */
  tuning?: {
    brokerBackoff?: BackoffOptions;
    serverBackoff?: BackoffOptions;
    serverRefreshMs?: number;
    serverRequestTimeoutMs?: number;
    mqttConnectTimeoutMs?: number;
    authBackoff?: BackoffOptions;
  };
}

/** The host's notification service: shows a notice, calls `onClick` when the operator clicks it; false if it cannot. */
export interface DesktopNotifier {
  show(notice: DesktopNotice, onClick: () => void): boolean;
}

/** A typed event source for `DesktopEventMap`; `on` returns its own unsubscribe. */
export interface DesktopEvents {
  on<E extends DesktopEvent>(event: E, cb: (payload: DesktopEventMap[E]) => void): Unsubscribe;
}

export interface DesktopServices {
  handlers: DesktopHandlers;
  events: DesktopEvents;
  /** Starts the links in the background; resolves at once (does not wait for the broker or server). */
  start(): Promise<void>;
  /** Stops everything and disposes every socket, timer and listener. Idempotent. */
  stop(): Promise<void>;
  /** running totals for benchmarks and diagnostics (not part of the DesktopApi) */
  stats(): DesktopServicesStats;
}

export interface DesktopServicesStats {
  /** broker messages accepted (telemetry and status) */
  messagesReceived: number;
  /** fleet frames emitted, and the vehicle states they carried */
  framesEmitted: number;
  vehiclesEmitted: number;
}

class TypedEmitter implements DesktopEvents {
  private readonly listeners = new Map<DesktopEvent, Set<(payload: never) => void>>();

  constructor(private readonly logger: Logger) {}

  on<E extends DesktopEvent>(event: E, cb: (payload: DesktopEventMap[E]) => void): Unsubscribe {
    let set = this.listeners.get(event);
    if (!set) this.listeners.set(event, (set = new Set()));
    const entry = cb as (payload: never) => void;
    set.add(entry);
    return () => {
      set.delete(entry);
    };
  }

  emit<E extends DesktopEvent>(event: E, payload: DesktopEventMap[E]): void {
    for (const cb of [...(this.listeners.get(event) ?? [])]) {
      // One broken subscriber (e.g. a closed window) must not starve the others or break the producer.
      try {
        (cb as (p: DesktopEventMap[E]) => void)(payload);
      } catch (err) {
        this.logger.error('event listener failed', { err, event });
      }
    }
  }

  clear(): void {
    this.listeners.clear();
  }
}

export function createDesktopServices(config: DesktopServicesConfig): DesktopServices {
  const logger = config.logger ?? createLogger('desktop');
  const events = new TypedEmitter(logger);
  const fleet = new LiveFleet(config.heartbeatTimeoutMs !== undefined ? { heartbeatTimeoutMs: config.heartbeatTimeoutMs } : {});
  const emitted = { frames: 0, vehicles: 0 };
  const coalescer = new FrameCoalescer(
    fleet,
    (frame) => {
      emitted.frames++;
      emitted.vehicles += frame.upserts.length;
      events.emit('fleet:frame', frame);
    },
    {
      ...(config.frameIntervalMs !== undefined ? { intervalMs: config.frameIntervalMs } : {}),
    },
  );
  const unsubscribeFleet = markFleetChanges(fleet, coalescer);

  const connectionState = (): ConnectionState => ({ broker: feed.getLinkState(), server: server.getLinkState() });
  let started = false;
  const emitConnection = (): void => {
    if (started) events.emit('connection:change', connectionState());
  };

  const tuning = config.tuning ?? {};
  const feed = new TelemetryFeed({
    mqttUrl: config.mqttUrl,
    ...(config.mqttUsername !== undefined ? { username: config.mqttUsername } : {}),
    ...(config.mqttPassword !== undefined ? { password: config.mqttPassword } : {}),
    ...(config.mqttCa !== undefined ? { ca: config.mqttCa } : {}),
    sink: {
      telemetry: (id, t, at) => fleet.applyTelemetry(id, t, at),
      status: (id, s, at) => fleet.applyStatus(id, s, at),
    },
    onLinkChange: emitConnection,
    logger: logger.child({ component: 'telemetry-feed' }),
    ...(tuning.brokerBackoff ? { backoff: tuning.brokerBackoff } : {}),
    ...(tuning.mqttConnectTimeoutMs !== undefined ? { connectTimeoutMs: tuning.mqttConnectTimeoutMs } : {}),
  });
  const session = new StaffSession({
    serverUrl: config.serverUrl,
    logger: logger.child({ component: 'staff-session' }),
    ...(config.staffCredentials ? { autoSignIn: config.staffCredentials } : {}),
    ...(config.sessionVault ? { vault: config.sessionVault } : {}),
    ...(tuning.authBackoff ? { backoff: tuning.authBackoff } : {}),
    onChange: (state) => {
      events.emit('auth:change', state);
      if (state.status === 'signed_in') server.kick();
    },
  });
  const server = new ServerLink({
    serverUrl: config.serverUrl,
    authHeaders: () => session.authHeaders(),
    onUnauthorized: () => session.invalidateAccessToken(),
    onRegistry: (vehicles, complete) => fleet.setRegistry(vehicles, { complete }),
    onSeed: (vehicles) => fleet.seed(vehicles),
    onLinkChange: emitConnection,
    logger: logger.child({ component: 'server-link' }),
    ...(tuning.serverBackoff ? { backoff: tuning.serverBackoff } : {}),
    ...(tuning.serverRefreshMs !== undefined ? { refreshIntervalMs: tuning.serverRefreshMs } : {}),
    ...(tuning.serverRequestTimeoutMs !== undefined ? { requestTimeoutMs: tuning.serverRequestTimeoutMs } : {}),
  });

  const tileUrl = config.tileUrl ?? DEFAULT_TILE_URL;
  const info: AppInfo = {
    name: 'Fleetdesk',
    version: config.version ?? readPackageVersion(),
    host: config.host,
    serverUrl: config.serverUrl,
    tileUrl,
    tileAttribution: config.tileAttribution ?? (tileUrl === DEFAULT_TILE_URL ? DEFAULT_TILE_ATTRIBUTION : ''),
    syncUrl: config.syncUrl ?? config.serverUrl,
  };

  const handlers: DesktopHandlers = {
    'app:getInfo': async () => ({ ...info }),
    'fleet:getSnapshot': async () => coalescer.getSnapshot(),
    'fleet:getCounts': async () => ({ total: fleet.size, byState: fleet.countByState(), dropped: feed.getDropped() }),
    'connection:getState': async () => connectionState(),
    'auth:getState': async () => session.state(),
    'auth:signIn': async (email, password) => session.signIn(email, password),
    'auth:signOut': async () => session.signOut(),
    'auth:getAccessToken': async () => session.accessToken(),
    'notify:show': async (raw) => {
      const notice = parseNotice(raw);
      if (!notice) return { shown: false, reason: 'bad_request' };
      if (!config.notifier) return { shown: false, reason: 'unsupported' };
      const shown = config.notifier.show(notice, () => events.emit('notify:click', notice.target));
      return shown ? { shown } : { shown, reason: 'unsupported' };
    },
  };

  let stopping: Promise<void> | null = null;
  return {
    handlers,
    events,
    stats: () => ({ messagesReceived: feed.getReceivedCount(), framesEmitted: emitted.frames, vehiclesEmitted: emitted.vehicles }),
    async start() {
      if (started) return;
      started = true;
      fleet.start();
      coalescer.start();
      await session.start();
      feed.start();
      server.start();
      logger.info('desktop services started', { host: config.host, serverUrl: config.serverUrl });
    },
    stop() {
      stopping ??= (async () => {
        // Reverse order of start: producers first, so nothing is emitted into a half-stopped pipeline.
        await Promise.allSettled([server.stop(), feed.stop()]);
        session.stop();
        coalescer.stop();
        fleet.stop();
        unsubscribeFleet();
        started = false;
        events.clear();
      })();
      return stopping;
    },
  };
}

/** Finds the app's package.json walking up from this module (src/main/services in dev, out/main when built). */
function readPackageVersion(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i += 1) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: unknown; version?: unknown };
      if (pkg.name === 'fleetdesk' && typeof pkg.version === 'string') return pkg.version;
    } catch {
      // not here; keep walking up
    }
    const parent = dirname(dir);
    if (parent === dir) break;
    dir = parent;
  }
  return '0.0.0';
}
