/**
 * The simulator's MQTT test harness: a fresh in-process broker per test (retained statuses of one test must not
 * leak into the next) and everything a test starts — simulations, server clients — stopped after it, last first.
 * Call once at the top of a test file; see README.md.
 */
import { afterEach, beforeEach } from 'vitest';
import { startSimulation, type Simulation, type SimulationOptions } from '../simulation.js';
import { serverClient, startTestBroker, type ServerClient, type TestBroker } from './test-broker.js';

export interface SimHarness {
  /** this test's broker */
  broker(): TestBroker;
  /** run after the test, last first (simulations and clients started here are already on it) */
  readonly cleanups: Array<() => Promise<void>>;
  /** a server client on this test's broker, closed after the test */
  server(): Promise<ServerClient>;
  /** a simulation on this test's broker (`defaults`, then `options`), stopped after the test */
  start(options: Partial<SimulationOptions> & { vehicles: number }): Promise<Simulation>;
  /** a server client, then a simulation */
  setup(options: Partial<SimulationOptions> & { vehicles: number }): Promise<{ sim: Simulation; server: ServerClient }>;
}

export function useSimHarness(defaults: Partial<SimulationOptions> = {}): SimHarness {
  let tb: TestBroker | undefined;
  const cleanups: Array<() => Promise<void>> = [];
  beforeEach(async () => {
    tb = await startTestBroker();
  });
  afterEach(async () => {
    while (cleanups.length > 0) await cleanups.pop()!();
    await tb?.close();
  });
  const broker = (): TestBroker => {
    if (!tb) throw new Error('useSimHarness: no broker outside a test');
    return tb;
  };
  const server = async (): Promise<ServerClient> => {
    const s = await serverClient(broker().url);
    cleanups.push(() => s.close());
    return s;
  };
  const start = async (options: Partial<SimulationOptions> & { vehicles: number }): Promise<Simulation> => {
    const sim = await startSimulation({ mqttUrl: broker().url, ...defaults, ...options });
    cleanups.push(() => sim.stop());
    return sim;
  };
  return {
    broker,
    cleanups,
    server,
    start,
    setup: async (options) => {
      const s = await server();
      return { sim: await start(options), server: s };
    },
  };
}
