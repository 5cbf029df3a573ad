/**
 * Composition root of the companion server: builds the platform (log, metrics, db, mqtt, http) and the
 * components, and disposes them in reverse order. `startServer()` is what start.ts and the tests call.
 */
import type { Registry } from 'prom-client';
import { DEFAULT_SERVICE_AREA, demoVehicleId } from '../../src/shared/demo-fleet.js';
import type { VehicleInfo } from '../../src/shared/fleet.js';
import { alertThresholds, startAlertsComponent } from './components/alerts/index.js';
import { createAuditComponent } from './components/audit/index.js';
import { startCommandsComponent, type CommandsComponent } from './components/commands/index.js';
import { startDeviceIdentityComponent, type DemoCredentials } from './components/device-identity/index.js';
import { startDevicesComponent } from './components/devices/index.js';
import { startFleetComponent } from './components/fleet/index.js';
import { startOpsComponent } from './components/ops/index.js';
import { enableDesktopCors, startSyncComponent, type SyncComponent } from './components/sync/index.js';
import { IN_MEMORY_DATA_DIR, redactUrl, resolveConfig, type ServerConfig } from './platform/config.js';
import { openDatabase, pingDatabase, type Db } from './platform/db/index.js';
import { DomainEvents } from './platform/domain-events.js';
import { createHttpServer, listenHttp } from './platform/http/index.js';
import { createLogger, errorFields, type Logger } from './platform/log.js';
import { createPlatformMetrics } from './platform/metrics.js';
import { connectMqtt, startEmbeddedBroker } from './platform/mqtt/index.js';

export interface ServerHandle {
  config: ServerConfig;
  /** http://127.0.0.1:port */
  httpUrl: string;
  /** mqtt://host:port of the broker in use (the embedded one, or MQTT_URL) */
  mqttUrl: string;
  log: Logger;
  db: Db;
  /** this instance's Prometheus registry */
  metrics: Registry;
  /** this instance's in-process domain events */
  events: DomainEvents;
  /** the device-command lifecycle (issue, cancel, read, wait for the outcome) */
  commands: CommandsComponent;
  /** Upserts vehicles into the registry; ingestion accepts their ids once this resolves (tests). */
  registerVehicles(vehicles: readonly VehicleInfo[]): Promise<void>;
  /**
   * MQTT credentials of the seeded demo fleet and a demo desktop account (also in
   * `$DATA_DIR/demo-credentials.json`); undefined with MQTT_AUTH=off or no seeded fleet. Demo and tests only.
   */
  demoCredentials: DemoCredentials | undefined;
  /** Writes buffered live state to the database now (tests; stop() does it too). */
  flushIngestion(): Promise<void>;
  /** the replica's sync component (tests: tombstone purge, open streams) */
  sync: SyncComponent;
  /** Copies due live state into the replicated vehicle snapshot now (tests; also every second). */
  copyVehicleSnapshot(): Promise<number>;
  /** Writes queued alert changes to the database now (tests; stop() does it too). */
  flushAlerts(): Promise<void>;
  /** Disposes everything in reverse order of start; safe to call twice. */
  stop(): Promise<void>;
}

/** How long start waits for the broker before going on without it (/ready reports it until it connects). */
const BROKER_WAIT_MS = 5_000;
const READY_DB_TIMEOUT_MS = 1_000;

type Disposer = { name: string; dispose: () => Promise<void> | void };

/** Starts the server; `overrides` apply over the defaults (the environment is read by start.ts only). */
export async function startServer(overrides: Partial<ServerConfig> = {}): Promise<ServerHandle> {
  const config = resolveConfig(overrides);
  const log = createLogger({ level: config.logLevel });
  const disposers: Disposer[] = [];
  const stopAll = () => disposeInReverse(disposers, log);
  try {
    const metrics = createPlatformMetrics();
    const events = new DomainEvents(log.child({ component: 'events' }));
    const db = await openDatabase(config, log.child({ component: 'db' }), (seconds, ok) =>
      metrics.dbQueryDuration.observe({ backend: config.databaseUrl ? 'postgres' : 'pglite', outcome: ok ? 'ok' : 'error' }, seconds),
    );
    disposers.push({ name: 'database', dispose: () => db.close() });

    const identity = await startDeviceIdentityComponent({ db, log });
    disposers.push({ name: 'device identity', dispose: () => identity.stop() });
    let mqttUrl = config.mqttUrl;
    // On an external broker the server is whoever MQTT_USERNAME says; on the embedded one, an in-process account.
    let mqttAccount = config.mqttUsername === undefined ? undefined : { username: config.mqttUsername, password: config.mqttPassword };
    if (!mqttUrl) {
      const enforce = config.mqttAuth === 'required';
      const broker = await startEmbeddedBroker({
        host: config.host,
        port: config.mqttPort,
        log: log.child({ component: 'broker' }),
        ...(enforce ? { authorizer: identity.authorizer, metrics: metrics.registry } : {}),
      });
      disposers.push({ name: 'embedded broker', dispose: () => broker.close() });
      mqttUrl = broker.url;
      mqttAccount = enforce ? await identity.createLocalServiceAccount() : undefined;
    }
    const mqtt = connectMqtt({ url: mqttUrl, log: log.child({ component: 'mqtt' }), ...mqttAccount });
    disposers.push({ name: 'mqtt client', dispose: () => mqtt.close() });

    // Before ingestion, so the engine sees the first events; the operating zone is the demo service area for now.
    const alerts = await startAlertsComponent({ db, events, log, metrics: metrics.registry, zone: DEFAULT_SERVICE_AREA, thresholds: alertThresholds(config) });
    disposers.push({ name: 'alerts (final write)', dispose: () => alerts.stop() });

    const fleet = await startFleetComponent({
      db,
      log,
      events,
      metrics: metrics.registry,
      heartbeatTimeoutS: config.heartbeatTimeoutS,
      clockSkewToleranceS: config.clockSkewToleranceS,
      telemetryRetentionDays: config.telemetryRetentionDays,
      seedVehicles: config.seedVehicles,
    });
    disposers.push({ name: 'fleet (final flush)', dispose: () => fleet.stop() });
    const demoCredentials =
      config.mqttAuth === 'required' && config.seedVehicles > 0
        ? await identity.ensureDemoCredentials(
            Array.from({ length: config.seedVehicles }, (_, i) => demoVehicleId(i)),
            config.dataDir === IN_MEMORY_DATA_DIR ? undefined : config.dataDir,
          )
        : undefined;
    // Shared subscriptions only on an external broker (Aedes has no $share).
    // Before ingestion, so it hears every `vehicle.online`; it reads the stored online view at start as well.
    const commands = await startCommandsComponent({
      db,
      mqtt,
      fleet,
      events,
      metrics: metrics.registry,
      log,
      sharedGroup: config.mqttUrl ? config.mqttSharedGroup : '',
      timings: { resendMs: config.commandResendMs, resultGraceMs: config.commandResultGraceMs },
    });
    disposers.push({ name: 'commands', dispose: () => commands.stop() });
    const devices = startDevicesComponent({ mqtt, fleet, metrics: metrics.registry, log, db, events, sharedGroup: config.mqttUrl ? config.mqttSharedGroup : '' });
    disposers.push({ name: 'device ingestion', dispose: () => devices.stop() });

    const ops = await startOpsComponent({ db, log, operatingZone: DEFAULT_SERVICE_AREA });
    const sync = await startSyncComponent({ db, log, alerts, fleet, ops: ops.service, commands, tombstoneDays: config.syncTombstoneDays });
    disposers.push({ name: 'sync', dispose: () => sync.stop() });

    const http = createHttpServer({
      log: log.child({ component: 'http' }),
      metrics,
      readiness: {
        database: () => pingDatabase(db, READY_DB_TIMEOUT_MS),
        broker: async () => {
          if (!mqtt.isReady()) throw new Error('not connected');
        },
      },
    });
    enableDesktopCors(http, config.desktopOrigins);
    await fleet.registerRoutes(http, '/ops/v1');
    await commands.registerRoutes(http, '/ops/v1');
    await createAuditComponent({ db }).registerRoutes(http, '/ops/v1');
    await alerts.registerRoutes(http, '/ops/v1');
    await identity.registerRoutes(http, '/ops/v1');
    await ops.registerRoutes(http, '/ops/v1');
    await sync.registerRoutes(http, '/sync/v1');
    const httpUrl = await listenHttp(http, config.host, config.port);
    disposers.push({ name: 'http', dispose: () => http.close() });

    if (!(await mqtt.waitUntilReady(BROKER_WAIT_MS))) log.warn('MQTT broker not reachable yet; serving without live ingestion until it is', { mqttUrl: redactUrl(mqttUrl) });
    log.info('server started', { httpUrl, mqttUrl: redactUrl(mqttUrl), database: db.backend });

    let stopping: Promise<void> | undefined;
    return {
      config,
      httpUrl,
      mqttUrl,
      log,
      db,
      metrics: metrics.registry,
      events,
      commands,
      demoCredentials,
      sync,
      copyVehicleSnapshot: () => fleet.copySnapshot(),
      registerVehicles: (vehicles) => fleet.registerVehicles(vehicles),
      flushAlerts: () => alerts.flush(),
      flushIngestion: () => Promise.all([fleet.flush(), devices.flush()]).then(() => undefined),
      stop: () => (stopping ??= stopAll().then(() => log.info('server stopped'))),
    };
  } catch (err) {
    log.error('server failed to start', errorFields(err));
    await stopAll();
    throw err;
  }
}

async function disposeInReverse(disposers: Disposer[], log: Logger): Promise<void> {
  while (disposers.length > 0) {
    const { name, dispose } = disposers.pop()!;
    try {
      await dispose();
    } catch (err) {
      // Keep going: one stuck resource must not keep the others (and the process) alive.
      log.error(`stopping ${name} failed`, errorFields(err));
    }
  }
}
