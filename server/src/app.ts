/**
 * Composition root of the companion server: builds the platform (log, metrics, db, mqtt, http) and the
 * components, and disposes them in reverse order. `startServer()` is what start.ts and the tests call.
 */
import { readFile } from 'node:fs/promises';
import type { Registry } from 'prom-client';
import { demoVehicleId } from '../../src/shared/demo-fleet.js';
import { DEFAULT_SERVICE_AREA } from '../../src/shared/service-area.js';
import type { VehicleInfo } from '../../src/shared/fleet.js';
import { redactUrl } from '../../src/shared/redact-url.js';
import {
  alertDocs,
  alertThresholds,
  startAlertsComponent,
  type ActiveRentalLookup,
  type ServiceStateLookup,
} from './components/alerts/index.js';
import { allocationDocs, startBookingsComponent, type BookingsComponent } from './components/bookings/index.js';
import { createAuditComponent } from './components/audit/index.js';
import { customerDocs, startCustomersComponent, type CustomerRentalsPort, type CustomersComponent } from './components/customers/index.js';
import { startStaffComponent } from './components/staff/index.js';
import { commandDocs, startCommandsComponent, type CommandsComponent } from './components/commands/index.js';
import { startDeviceIdentityComponent, type DemoCredentials } from './components/device-identity/index.js';
import { startDevicesComponent } from './components/devices/index.js';
import { startFeedsComponent, type FeedsComponent } from './components/feeds/index.js';
import { startFleetComponent, vehicleDocs } from './components/fleet/index.js';
import * as integrationHealth from './components/integration-health/index.js';
import { noteDocs, startOpsComponent, taskDocs, zoneDocs } from './components/ops/index.js';
import { startPaymentsComponent, type StartedPayments } from './components/payments/index.js';
import { startPricingComponent, type PricingComponent } from './components/pricing/index.js';
import { startRentalsComponent, type RentalsComponent } from './components/rentals/index.js';
import { startSyncComponent, type SyncComponent } from './components/sync/index.js';
import { startTimelineComponent, type TimelineComponent } from './components/timeline/index.js';
import { createTrackComponent } from './components/track/index.js';
import { demoDefaultsInUse, IN_MEMORY_DATA_DIR, resolveConfig, type ServerConfig } from './platform/config.js';
import { AuthService, installAuthHook } from './platform/auth/index.js';
import { openDatabase, pingDatabase, type Db } from './platform/db/index.js';
import { DomainEvents } from './platform/domain-events.js';
import { enableDesktopCors } from './platform/http/desktop-cors.js';
import { createHttpServer, listenHttp } from './platform/http/index.js';
import { installAbuseLimits } from './platform/http/abuse-limits.js';
import { installIdempotency } from './platform/http/idempotency.js';
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
  /** reservations, bookings, availability (tests: refreshAvailability, sweepExpired) */
  bookings: BookingsComponent;
  /** rentals: start, end, receipts, damage reports (tests: sweepAbandonedHolds) */
  rentals: RentalsComponent;
  /** vehicle types and tariffs */
  pricing: PricingComponent;
  /** customer accounts, licences (drainLicenceChecks in tests), eligibility */
  customers: CustomersComponent;
  /** payment methods, holds, the payments outbox (drainOutbox in tests), reconciliation, the provider in use */
  payments: StartedPayments;
  /** the GBFS feed (tests: publicVehicleId, settled) */
  feeds: FeedsComponent;
  /** the evidence timeline (tests, bench: `materializer.catchUp()`) */
  timeline: TimelineComponent;
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
  /**
   * Stops intake (the MQTT client, then HTTP), drains every write-behind buffer (events → state and history →
   * alert changes) for as long as the database makes progress, then closes the rest in reverse order of start;
   * safe to call twice.
   */
  stop(): Promise<void>;
  /** What the last stop() left unwritten (logged with `server stopped`); undefined before a stop. */
  shutdownReport(): ShutdownReport | undefined;
}

/** What a stop could not write before giving up (the database made no progress for SHUTDOWN_STALL_MS). */
export interface ShutdownReport {
  /** the sum of the others */
  lost: number;
  alertChanges: number;
  /** vehicles whose latest state was not written */
  states: number;
  historyRows: number;
  events: number;
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
  const unwritten: Omit<ShutdownReport, 'lost'> = { alertChanges: 0, states: 0, historyRows: 0, events: 0 };
  const stopAll = () => disposeInReverse(disposers, log);
  // Production mode refused them in resolveConfig; development mode keeps them and says so, one line each.
  for (const demo of demoDefaultsInUse(config))
    log.warn(`development mode: demo default ${demo.env}: ${demo.what} (NODE_ENV=production refuses it)`, { setting: demo.env });
  try {
    const metrics = createPlatformMetrics();
    const events = new DomainEvents(log.child({ component: 'events' }));
    const db = await openDatabase(config, log.child({ component: 'db' }), (seconds, ok) =>
      metrics.dbQueryDuration.observe({ backend: config.databaseUrl ? 'postgres' : 'pglite', outcome: ok ? 'ok' : 'error' }, seconds),
    );
    disposers.push({ name: 'database', dispose: () => db.close() });

    const identity = await startDeviceIdentityComponent({
      db,
      log,
      ...(config.mosquittoConfigDir === undefined
        ? {}
        : {
            mosquitto: {
              dir: config.mosquittoConfigDir,
              ...(config.mosquittoPidFile === undefined ? {} : { pidFile: config.mosquittoPidFile }),
            },
          }),
    });
    disposers.push({ name: 'device identity', dispose: () => identity.stop() });
    let mqttUrl = config.mqttUrl;
    // TLS: the embedded broker's certificate and key, and the CA this server's own client verifies the broker with
    const brokerTls =
      !mqttUrl && config.mqttTlsCertFile && config.mqttTlsKeyFile
        ? { cert: await readFile(config.mqttTlsCertFile), key: await readFile(config.mqttTlsKeyFile) }
        : undefined;
    const mqttCa = config.mqttCaFile ? await readFile(config.mqttCaFile) : brokerTls?.cert;
    // On an external broker the server is whoever MQTT_USERNAME says; on the embedded one, an in-process account.
    let mqttAccount = config.mqttUsername === undefined ? undefined : { username: config.mqttUsername, password: config.mqttPassword };
    if (!mqttUrl) {
      const enforce = config.mqttAuth === 'required';
      const broker = await startEmbeddedBroker({
        host: config.host,
        port: config.mqttPort,
        log: log.child({ component: 'broker' }),
        metrics: metrics.registry,
        maxPacketBytes: config.mqttMaxPacketBytes,
        ...(enforce ? { authorizer: identity.authorizer } : {}),
        ...(brokerTls ? { tls: brokerTls } : {}),
      });
      disposers.push({ name: 'embedded broker', dispose: () => broker.close() });
      mqttUrl = broker.url;
      mqttAccount = enforce ? await identity.createLocalServiceAccount() : undefined;
    }
    const mqtt = connectMqtt({ url: mqttUrl, log: log.child({ component: 'mqtt' }), ...mqttAccount, ...(mqttCa ? { ca: mqttCa } : {}) });
    disposers.push({ name: 'mqtt client', dispose: () => mqtt.close() });

    // Before ingestion, so the engine sees the first events; the operating zone is the demo service area until the
    // ops component's zone watch hands over the zones table's (below).
    // Bookings starts later (it needs fleet and customers): alerts ask its in-memory view of active rentals through this.
    const activeRentals: { port?: ActiveRentalLookup } = {};
    const rentalLookup: ActiveRentalLookup = { hasActiveRental: (vehicleId) => activeRentals.port?.hasActiveRental(vehicleId) ?? false };
    const serviceStates: { port?: ServiceStateLookup } = {};
    const serviceLookup: ServiceStateLookup = { inMaintenance: (vehicleId) => serviceStates.port?.inMaintenance(vehicleId) ?? false };
    const alerts = await startAlertsComponent({
      db,
      events,
      log,
      metrics: metrics.registry,
      zone: DEFAULT_SERVICE_AREA,
      thresholds: alertThresholds(config),
      rentals: rentalLookup,
      service: serviceLookup,
      shutdownStallMs: config.shutdownStallMs,
    });
    disposers.push({
      name: 'alerts (final write)',
      dispose: async () => {
        unwritten.alertChanges = (await alerts.stop()).unwritten;
      },
    });

    const fleet = await startFleetComponent({
      db,
      log,
      events,
      metrics: metrics.registry,
      heartbeatTimeoutS: config.heartbeatTimeoutS,
      historyCapacity: config.telemetryBufferRows,
      broker: mqtt,
      brokerReconnectGraceS: config.brokerReconnectGraceS,
      brokerOutageMaxStalenessS: config.brokerOutageMaxStalenessS,
      clockSkewToleranceS: config.clockSkewToleranceS,
      telemetryRetentionDays: config.telemetryRetentionDays,
      seedVehicles: config.seedVehicles,
      shutdownStallMs: config.shutdownStallMs,
      onVehicleRetired: async (vehicleId, actor, reason) => {
        await identity.revokeDevice(vehicleId, actor, reason ?? 'vehicle retired');
      },
    });
    disposers.push({
      name: 'fleet (final flush)',
      dispose: async () => {
        Object.assign(unwritten, (await fleet.stop()).unwritten);
      },
    });
    // Before ingestion: alert changes a previous stop could not write are made again from the stored state.
    await alerts.repairFromStates(await fleet.liveFleet());
    identity.connectRegistry(fleet, config.deviceBrokerUrl ?? withoutCredentials(mqttUrl));
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
    const devices = startDevicesComponent({
      mqtt,
      fleet,
      metrics: metrics.registry,
      log,
      db,
      events,
      sharedGroup: config.mqttUrl ? config.mqttSharedGroup : '',
      shutdownStallMs: config.shutdownStallMs,
    });
    disposers.push({
      name: 'device ingestion',
      dispose: async () => {
        unwritten.events = (await devices.stop()).unwritten;
      },
    });

    const ops = await startOpsComponent({ db, log, operatingZone: DEFAULT_SERVICE_AREA });
    disposers.push({ name: 'ops (zone watch)', dispose: () => ops.stop() });
    // zone_exit follows the zones admins draw (on any instance: the watch polls the database)
    const offZoneAlerts = ops.zones.subscribe((zones) => alerts.setOperatingZones(zones.filter((z) => z.kind === 'operating')));
    disposers.push({ name: 'zone alerts', dispose: () => void offZoneAlerts() });

    const auth = await AuthService.create(
      db,
      {
        secret: config.authSecret,
        accessTokenTtlS: config.accessTokenTtlS,
        refreshTokenTtlDays: config.refreshTokenTtlDays,
        maxFailuresPerEmail: config.loginMaxFailuresPerEmail,
        maxFailuresPerIp: config.loginMaxFailuresPerIp,
        windowS: config.loginWindowS,
        firstDelayS: config.loginFirstDelayS,
        maxDelayS: config.loginMaxDelayS,
        maxConcurrentPerClient: config.loginMaxConcurrentPerClient,
      },
      (err) => log.warn('auth housekeeping failed', errorFields(err)),
    );
    disposers.push({ name: 'auth', dispose: () => auth.close() });
    const staff = await startStaffComponent({ db, log, auth, seedDemoStaff: config.seedDemoStaff, production: config.production });
    // Rentals for the support agents' customer detail: bookings starts after customers (rentals ask eligibility), so
    // it plugs its port in here once started (`customerRentals.port = …`); until then, no rentals.
    const customerRentals: { port: CustomerRentalsPort } = { port: { listForCustomer: async () => [] } };
    const customers = await startCustomersComponent({
      db,
      log,
      metrics: metrics.registry,
      auth,
      licence: config,
      ...(config.dataDir === IN_MEMORY_DATA_DIR ? {} : { mailDir: config.dataDir }),
      mail: config,
      notes: ops.service,
      rentals: { listForCustomer: (customerId, limit) => customerRentals.port.listForCustomer(customerId, limit) },
    });
    disposers.push({ name: 'customers', dispose: () => customers.stop() });
    // Before bookings (rentals place holds and queue captures); without PAYMENT_PROVIDER_URL it starts the sandbox.
    const payments = await startPaymentsComponent({
      db,
      log,
      metrics: metrics.registry,
      providerUrl: config.paymentProviderUrl,
      providerApiKey: config.paymentProviderApiKey,
      webhookSecret: config.paymentWebhookSecret,
      callTimeoutMs: config.paymentCallTimeoutMs,
      retryBaseMs: config.paymentRetryBaseMs,
      maxAttempts: config.paymentMaxAttempts,
      reconcileIntervalS: config.paymentReconcileIntervalS,
      sandbox: {
        latencyMs: config.paymentSandboxLatencyMs,
        flakyRate: config.paymentSandboxFlakyPct / 100,
        seed: config.paymentSandboxSeed,
      },
      sandboxLedgerDir: config.dataDir === IN_MEMORY_DATA_DIR ? undefined : config.dataDir,
    });
    disposers.push({ name: 'payments', dispose: () => payments.stop() });
    const pricing = await startPricingComponent({ db, log, freeHoldMinutes: config.reservationHoldMin });
    const bookings = await startBookingsComponent({
      db,
      log,
      events,
      metrics: metrics.registry,
      fleet,
      pricing,
      settings: {
        holdMin: config.reservationHoldMin,
        maxHoldMin: config.reservationMaxHoldMin,
        bufferMin: config.bookingBufferMin,
      },
    });
    disposers.push({ name: 'bookings', dispose: () => bookings.stop() });
    // After bookings: its availability index hears the rentals' `rental.started` / `rental.ended` events.
    const rentals = await startRentalsComponent({
      db,
      log,
      events,
      metrics: metrics.registry,
      customers,
      payments,
      commands,
      vehicleLink: fleet.liveness,
      operatingZone: DEFAULT_SERVICE_AREA,
      dataDir: config.dataDir,
      settings: {
        unlockTimeoutMs: config.rentalUnlockTimeoutMs,
        lockTimeoutMs: config.rentalLockTimeoutMs,
        holdDeadlineMs: config.rentalHoldDeadlineMs,
        endTelemetryMaxAgeMs: config.rentalEndTelemetryMaxAgeS * 1000,
      },
    });
    disposers.push({ name: 'rentals', dispose: () => rentals.stop() });
    const feeds = await startFeedsComponent({
      db,
      log,
      events,
      vehicles: { vehicleTypes: () => pricing.vehicleTypes(), availableVehicles: () => bookings.availableVehicles() },
      operatingZone: DEFAULT_SERVICE_AREA,
      zoneSource: ops.zones,
      publicUrl: config.publicUrl,
      contactEmail: config.gbfsContactEmail,
    });
    disposers.push({ name: 'feeds', dispose: () => feeds.stop() });
    activeRentals.port = bookings.activeRentals;
    serviceStates.port = bookings.serviceStates;
    customerRentals.port = { listForCustomer: (customerId, limit) => bookings.listRentalsForCustomer(customerId, limit) };
    // staffTokens: support requests from the desktop (refund, end rental, block) run through the staff routes as their creator
    // the replicated tables, each described by the component that owns it
    const syncTables = {
      vehicles: vehicleDocs,
      alerts: alertDocs,
      commands: commandDocs,
      tasks: taskDocs,
      notes: noteDocs,
      zones: zoneDocs,
      rentals: allocationDocs,
      customers: customerDocs,
    };
    const sync = await startSyncComponent({
      db,
      log,
      tables: syncTables,
      alerts,
      fleet,
      ops: ops.service,
      commands,
      creators: (id) => staff.accounts.find(id),
      staffTokens: auth.accessTokens,
      tombstoneDays: config.syncTombstoneDays,
      historyDays: config.syncHistoryDays,
    });
    disposers.push({ name: 'sync', dispose: () => sync.stop() });

    const health = integrationHealth.startIntegrationHealthComponent({
      log,
      probes: {
        broker: integrationHealth.brokerProbe(mqtt, redactUrl(mqttUrl)),
        database: integrationHealth.databaseProbe(() => pingDatabase(db, READY_DB_TIMEOUT_MS), db.backend),
        payment_provider: integrationHealth.paymentProviderProbe(payments),
        licence_provider: integrationHealth.licenceProviderProbe(customers),
        availability_index: integrationHealth.availabilityIndexProbe(bookings),
      },
    });
    disposers.push({ name: 'integration health', dispose: () => health.stop() });

    const timeline = startTimelineComponent({ db, log, materializeLagMs: config.timelineMaterializeLagS * 1000 });
    disposers.push({ name: 'timeline (ignition materializer)', dispose: () => timeline.stop() });

    const http = createHttpServer({
      log: log.child({ component: 'http' }),
      metrics,
      openApi: { publicUrl: config.publicUrl },
      trustProxy: config.trustProxy,
      opsEndpoints: { production: config.production, ...(config.opsToken === undefined ? {} : { token: config.opsToken }) },
      readiness: {
        database: () => pingDatabase(db, READY_DB_TIMEOUT_MS),
        // Not a reason to leave the load balancer's rotation: bookings, support and search go on without it.
        broker: async () => {
          if (mqtt.isReady()) return;
          const link = mqtt.linkState();
          const since = new Date(link.since).toISOString();
          return {
            degraded:
              link.status === 'connecting'
                ? `not connected yet (connecting since ${since})`
                : `not connected since ${since}; vehicles kept at their last-known state, commands queued`,
          };
        },
      },
    });
    enableDesktopCors(http, config.desktopOrigins);
    // Deny by default: before every route, after CORS (preflights carry no token).
    installAuthHook(http, auth.accessTokens);
    // Abuse limits on routes with config.abuseLimit (preValidation: after authentication, before validation).
    await installAbuseLimits(http, {
      db,
      exemptLoopback: config.rateLimitLoopback === 'exempt' || (config.rateLimitLoopback === 'auto' && !config.production),
      rules: {
        signup: { perIp: config.rateLimitSignupPerIp, perAccount: config.rateLimitSignupPerEmail },
        login: { perIp: config.rateLimitLoginPerIp, perAccount: config.rateLimitLoginPerEmail },
        'staff-login': { perIp: config.rateLimitLoginPerIp, perAccount: config.rateLimitLoginPerEmail },
        claims: { perIp: config.rateLimitClaimsPerIp, perAccount: config.rateLimitClaimsPerCustomer },
        licence: { perIp: config.rateLimitLicencePerIp, perAccount: config.rateLimitLicencePerCustomer },
      },
    });
    // Idempotency-Key on routes with config.idempotent: its hooks run after authentication (route level).
    installIdempotency(http, { db, log, metrics: metrics.registry });
    await feeds.registerRoutes(http);
    await staff.registerRoutes(http, '/ops/v1');
    await customers.registerRoutes(http, '/v1');
    await customers.registerRoutes(http, '/ops/v1');
    await bookings.registerRoutes(http, '/v1');
    await rentals.registerRoutes(http, '/v1');
    await bookings.registerRoutes(http, '/ops/v1');
    await rentals.registerRoutes(http, '/ops/v1');
    await payments.registerRoutes(http, '/v1');
    await payments.registerRoutes(http, '/ops/v1');
    await payments.registerRoutes(http, '/webhooks');
    await fleet.registerRoutes(http, '/ops/v1');
    await commands.registerRoutes(http, '/ops/v1');
    await createAuditComponent({ db }).registerRoutes(http, '/ops/v1');
    await alerts.registerRoutes(http, '/ops/v1');
    await identity.registerRoutes(http, '/ops/v1');
    await ops.registerRoutes(http, '/ops/v1');
    await pricing.registerRoutes(http, '/ops/v1');
    await timeline.registerRoutes(http, '/ops/v1');
    await createTrackComponent({ db, gapMs: config.heartbeatTimeoutS * 1000 }).registerRoutes(http, '/ops/v1');
    await health.registerRoutes(http, '/ops/v1');
    await sync.registerRoutes(http, '/sync/v1');
    const httpUrl = await listenHttp(http, config.host, config.port);
    disposers.push({ name: 'http', dispose: () => http.close() });
    // Stopped first: nothing new is accepted (no MQTT message handled, so none acknowledged) while the buffers
    // below drain. Every message handled before this is in a buffer and written, or counted as lost.
    disposers.push({ name: 'intake (MQTT client)', dispose: () => mqtt.close() });
    payments.serverListening(httpUrl);

    if (!(await mqtt.waitUntilReady(BROKER_WAIT_MS)))
      log.warn('MQTT broker not reachable yet; serving without live ingestion until it is', { mqttUrl: redactUrl(mqttUrl) });
    log.info('server started', { httpUrl, mqttUrl: redactUrl(mqttUrl), database: db.backend });

    let stopping: Promise<void> | undefined;
    let report: ShutdownReport | undefined;
    return {
      config,
      httpUrl,
      mqttUrl,
      log,
      db,
      metrics: metrics.registry,
      events,
      commands,
      bookings,
      rentals,
      pricing,
      customers,
      payments,
      feeds,
      timeline,
      demoCredentials,
      sync,
      copyVehicleSnapshot: () => fleet.copySnapshot(),
      registerVehicles: (vehicles) => fleet.registerVehicles(vehicles),
      flushAlerts: () => alerts.flush(),
      flushIngestion: () => Promise.all([fleet.flush(), devices.flush()]).then(() => undefined),
      stop: () =>
        (stopping ??= stopAll().then(() => {
          report = { lost: unwritten.alertChanges + unwritten.states + unwritten.historyRows + unwritten.events, ...unwritten };
          if (report.lost > 0)
            log.error('server stopped; accepted changes not written (repaired at the next start where possible)', { ...report });
          else log.info('server stopped', { ...report });
        })),
      shutdownReport: () => report,
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

/** A broker URL as devices are told it: the server's own account (user and password) left out. */
function withoutCredentials(url: string): string {
  const u = new URL(url);
  u.username = '';
  u.password = '';
  return u.toString();
}
