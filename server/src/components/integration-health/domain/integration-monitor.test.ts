import { describe, expect, it } from 'vitest';
import { IntegrationMonitor, type IntegrationProbes, type ProbeResult } from './integration-monitor.js';

const UP: ProbeResult = { state: 'up', error: null, detail: 'fine' };

function probes(overrides: Partial<IntegrationProbes> = {}): IntegrationProbes {
  return {
    broker: () => UP,
    database: () => UP,
    payment_provider: () => UP,
    licence_provider: () => UP,
    availability_index: () => UP,
    ...overrides,
  };
}

describe('IntegrationMonitor', () => {
  it('keeps since when each integration is in its state, the last error, and a log of the changes', async () => {
    let now = 1_000;
    let payment: ProbeResult = UP;
    const monitor = new IntegrationMonitor({ probes: probes({ payment_provider: () => payment }), now: () => now, maxAgeMs: 0 });
    const first = await monitor.read();
    expect(first.integrations.map((i) => [i.name, i.state, i.since])).toEqual([
      ['broker', 'up', 1_000],
      ['database', 'up', 1_000],
      ['payment_provider', 'up', 1_000],
      ['licence_provider', 'up', 1_000],
      ['availability_index', 'up', 1_000],
    ]);
    now = 2_000;
    payment = { state: 'down', error: 'connect ECONNREFUSED', detail: null };
    now = 3_000;
    const down = await monitor.read();
    expect(down.integrations[2]).toEqual({
      name: 'payment_provider',
      state: 'down',
      since: 3_000,
      lastError: 'connect ECONNREFUSED',
      detail: null,
    });
    now = 4_000;
    expect((await monitor.read()).integrations[2]!.since).toBe(3_000);
    payment = UP;
    now = 9_000;
    const up = await monitor.read();
    // back up: since moves, the last error stays for the panel
    expect(up.integrations[2]).toMatchObject({ state: 'up', since: 9_000, lastError: 'connect ECONNREFUSED' });
    expect(up.changes.filter((c) => c.name === 'payment_provider')).toEqual([
      { name: 'payment_provider', from: 'down', to: 'up', at: 9_000, error: null },
      { name: 'payment_provider', from: 'up', to: 'down', at: 3_000, error: 'connect ECONNREFUSED' },
      { name: 'payment_provider', from: null, to: 'up', at: 1_000, error: null },
    ]);
  });

  it('counts a probe that throws or does not answer in time as down', async () => {
    const monitor = new IntegrationMonitor({
      probes: probes({
        database: () => Promise.reject(new Error('too many clients')),
        broker: () => new Promise<ProbeResult>(() => undefined),
      }),
      probeTimeoutMs: 50,
      maxAgeMs: 0,
    });
    const body = await monitor.read();
    expect(body.integrations.find((i) => i.name === 'database')).toMatchObject({ state: 'down', lastError: 'too many clients' });
    expect(body.integrations.find((i) => i.name === 'broker')).toMatchObject({ state: 'down', lastError: 'no answer within 50 ms' });
  });

  it('keeps a bounded log', async () => {
    let state: ProbeResult = UP;
    const monitor = new IntegrationMonitor({ probes: probes({ licence_provider: () => state }), maxChanges: 10, maxAgeMs: 0 });
    for (let i = 0; i < 20; i++) {
      state = i % 2 === 0 ? { state: 'degraded', error: `e${i}`, detail: null } : UP;
      await monitor.check();
    }
    const body = await monitor.read();
    expect(body.changes).toHaveLength(10);
    expect(body.changes[0]).toMatchObject({ name: 'licence_provider', error: null });
  });
});
