/**
 * The simulator for bench/desktop.ts in its own process (argv: mqttUrl vehicles [apiUrl customers [mailboxDir]]), with a connect
 * timeout long enough for 20,000 vehicles on a loaded 2-core machine. Prints `connected` once every connection is
 * up; stops on SIGINT/SIGTERM. With `apiUrl customers` (opt-in: the bench's load figures are for every car driving)
 * the customer driver rents the cars through the server's customer API, as `npm start` does, so the desk shows
 * reserved and rented cars; 2 % of the fleet still drives unrented.
 */
import { mailboxDirReader, startCustomerDriver, type CustomerDriver } from '../sim/customers/customer-driver.js';
import { startSimulation } from '../sim/simulation.js';

const [mqttUrl, vehicles, apiUrl, customers, mailboxDir] = [
  process.argv[2]!,
  Number(process.argv[3]),
  process.argv[4],
  Number(process.argv[5] ?? 0),
  process.argv[6],
];
const withCustomers = apiUrl !== undefined && customers > 0;
const sim = await startSimulation({
  mqttUrl,
  vehicles,
  vehiclesPerConnection: 100,
  rate: 1,
  connectTimeoutMs: 180_000,
  ...(withCustomers ? { tripsOnDemand: { unrentedShare: 0.02 } } : {}),
});
const driver: CustomerDriver | undefined = withCustomers
  ? startCustomerDriver({ apiUrl, sim, customers, ...(mailboxDir ? { mailbox: mailboxDirReader(mailboxDir) } : {}) })
  : undefined;
console.log('connected');
const stop = () => void Promise.resolve(driver?.stop()).then(() => sim.stop().then(() => process.exit(0)));
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
