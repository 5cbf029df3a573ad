/**
 * `npm run sim -- --vehicles 500 --rate 1` — the device simulator CLI. Flags: sim/README.md or --help.
 * Logs one summary line every 10 s; SIGINT/SIGTERM stop it cleanly (offline status per vehicle, then exit 0).
 * With `--customers N` the customer driver (sim/customers/) rents the cars through the server's customer API and
 * logs its own line every 30 s.
 */
import { readFile } from 'node:fs/promises';
import { DEFAULT_SERVICE_AREA } from '../src/shared/service-area.js';
import { parseCliArgs, USAGE } from './cli-args.js';
import { loadCredentialsFile } from './credentials-file.js';
import { mailboxDirReader, startCustomerDriver, type CustomerDriver, type CustomerDriverStats } from './customers/customer-driver.js';
import { startSimulation, type Simulation, type SimulationLogger } from './simulation.js';

const SUMMARY_EVERY_MS = 10_000;
const CUSTOMER_SUMMARY_EVERY_MS = 30_000;
/** how long stopping waits for the customers' requests in flight (a rental start waits for the car's unlock) */
const CUSTOMER_STOP_WAIT_MS = 5_000;

const logger: SimulationLogger = {
  info: (msg, fields) => console.log(line(msg, fields)),
  warn: (msg, fields) => console.warn(line(msg, fields)),
  error: (msg, fields) => console.error(line(msg, fields)),
};

function line(msg: string, fields?: Record<string, unknown>): string {
  const extra = fields ? Object.entries(fields).map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`) : [];
  return [new Date().toISOString(), msg, ...extra].join(' ');
}

async function main(): Promise<number> {
  const parsed = parseCliArgs(process.argv.slice(2), process.env);
  if (parsed.kind === 'help') {
    process.stdout.write(USAGE);
    return 0;
  }
  if (parsed.kind === 'error') {
    console.error(`sim: ${parsed.message} (see --help)`);
    return 2;
  }
  const o = parsed.options;
  logger.info('sim: starting', {
    vehicles: o.vehicles,
    rate: o.rate,
    mqtt: o.mqttUrl,
    perConnection: o.perConnection,
    seed: o.seed,
    area: DEFAULT_SERVICE_AREA.id,
    ...(Object.keys(o.faults).length > 0 ? { faults: o.faults } : {}),
    ...(o.customers > 0 ? { customers: o.customers, unrentedMovement: o.unrentedMovement, api: o.apiUrl } : {}),
  });

  let sim: Simulation;
  try {
    sim = await startSimulation({
      mqttUrl: o.mqttUrl,
      vehicles: o.vehicles,
      rate: o.rate,
      vehiclesPerConnection: o.perConnection,
      seed: o.seed,
      movingShare: o.movingShare,
      faults: o.faults,
      ...(o.customers > 0 ? { tripsOnDemand: { unrentedShare: o.unrentedMovement } } : {}),
      ...(o.credentialsFile ? { credentials: await loadCredentialsFile(o.credentialsFile) } : {}),
      ...(o.mqttCaFile ? { tlsCa: await readFile(o.mqttCaFile) } : {}),
      logger,
    });
  } catch (err) {
    console.error(`sim: ${(err as Error).message}`);
    return 1;
  }

  // One summary line every 10 s, with this process's CPU use so the cost of a fleet size is visible.
  let last = { at: performance.now(), cpu: process.cpuUsage(), published: 0 };
  const summary = setInterval(() => {
    const now = performance.now();
    const cpu = process.cpuUsage(last.cpu);
    const s = sim.stats();
    const seconds = (now - last.at) / 1000;
    logger.info('sim:', {
      'published/s': Math.round((s.published - last.published) / seconds),
      connected: `${s.connected}/${o.vehicles}`,
      connections: `${s.connectionsUp}/${s.connections}`,
      cpu: `${Math.round(((cpu.user + cpu.system) / 1000 / (now - last.at)) * 100)}%`,
      maxLagMs: Math.round(s.maxLagMs),
      dropped: s.droppedWhileDisconnected,
      events: s.events,
      commands: s.commandsReceived,
      ...(s.faults.duplicated + s.faults.reordered + s.faults.malformed > 0 ? { faults: s.faults } : {}),
    });
    last = { at: now, cpu: process.cpuUsage(), published: s.published };
  }, SUMMARY_EVERY_MS);

  let customers: CustomerDriver | undefined;
  let customerSummary: NodeJS.Timeout | undefined;
  if (o.customers > 0) {
    customers = startCustomerDriver({
      apiUrl: o.apiUrl,
      sim,
      customers: o.customers,
      seed: o.seed,
      logger,
      ...(o.mailboxDir ? { mailbox: mailboxDirReader(o.mailboxDir) } : {}),
    });
    customerSummary = setInterval(() => logger.info('customers:', customerSummaryFields(customers!.stats())), CUSTOMER_SUMMARY_EVERY_MS);
  }

  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  clearInterval(summary);
  clearInterval(customerSummary);
  logger.info('sim: stopping');
  if (customers) {
    // customers first (their requests in flight may need the cars to answer), rentals stay as they are
    await Promise.race([customers.stop(), new Promise((resolve) => setTimeout(resolve, CUSTOMER_STOP_WAIT_MS).unref())]);
    logger.info('customers: stopped', customerSummaryFields(customers.stats()));
  }
  await sim.stop();
  return 0;
}

/** The customers' one-line summary: who is doing what now, and what happened so far. */
function customerSummaryFields(s: CustomerDriverStats): Record<string, unknown> {
  const counts = (r: Record<string, number>): string =>
    Object.entries(r)
      .map(([k, v]) => `${k}:${v}`)
      .join(',') || '0';
  return {
    now: `renting ${s.now.renting}, reserved ${s.now.reserved}, booked ${s.now.booked}, idle ${s.now.idle}`,
    signedUp: s.signedUp + s.loggedIn,
    reservations: s.reservations,
    bookings: s.bookings,
    started: s.rentalsStarted,
    ended: s.rentalsEnded,
    receipts: s.receiptsCaptured,
    conflicts: s.conflicts,
    cancelled: s.cancelled,
    endBlocked: counts(s.endBlocked),
    startFailed: counts(s.startFailures),
    retries: s.retries,
    unexpected: s.unexpected,
  };
}

main().then(
  (code) => {
    process.exitCode = code;
    // Everything is closed by now; should a library still hold a handle, do not hang the terminal.
    setTimeout(() => process.exit(code), 2_000).unref();
  },
  (err: unknown) => {
    console.error('sim: unexpected failure', err);
    process.exitCode = 1;
  },
);
