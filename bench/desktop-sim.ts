/**
 * The simulator for bench/desktop.ts in its own process (argv: mqttUrl vehicles), with a connect timeout long
 * enough for 20,000 vehicles on a loaded 2-core machine. Prints `connected` once every connection is up; stops on
 * SIGINT/SIGTERM.
 */
import { startSimulation } from '../sim/simulation.js';

const [mqttUrl, vehicles] = [process.argv[2]!, Number(process.argv[3])];
const sim = await startSimulation({ mqttUrl, vehicles, vehiclesPerConnection: 100, rate: 1, connectTimeoutMs: 180_000 });
console.log('connected');
const stop = () => void sim.stop().then(() => process.exit(0));
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
