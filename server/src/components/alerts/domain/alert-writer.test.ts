/** The write queue alone: non-blocking submit, order, retry while the database fails, bad ops dropped. */
import { describe, expect, it } from 'vitest';
import { createLogger } from '../../../platform/log.js';
import type { WriteOutcome, WriteRow } from '../data/alerts.repository.js';
import type { AlertOp } from './alert-engine.js';
import { AlertWriter, type AlertStore } from './alert-writer.js';

const log = createLogger({ level: 'silent' });
const raise = (vehicleId: string): AlertOp => ({ op: 'raise', vehicleId, kind: 'crash', at: 1, details: {}, retrigger: false });

class FlakyStore implements AlertStore {
  written: WriteRow[] = [];
  calls = 0;
  failNext = 0;
  rejectVehicle: string | undefined;
  async write(rows: readonly WriteRow[]): Promise<WriteOutcome[]> {
    this.calls++;
    await new Promise((r) => setTimeout(r, 1));
    if (this.failNext > 0) {
      this.failNext--;
      throw Object.assign(new Error('connection refused'), { code: 'ECONNREFUSED' });
    }
    if (rows.some((r) => r.vehicleId === this.rejectVehicle)) throw Object.assign(new Error('bad data'), { code: '22P02' });
    this.written.push(...rows);
    return rows.map(() => ({ outcome: 'none' as const }));
  }
}

describe('alert writer', () => {
  it('submit never waits; everything is written in order, retried while the database fails', async () => {
    const store = new FlakyStore();
    store.failNext = 3;
    let retries = 0;
    const writer = new AlertWriter(store, log, { batchSize: 4, retryBaseMs: 5, retryMaxMs: 20, onRetry: () => retries++ });
    for (let i = 0; i < 10; i++) writer.submit(raise(`v${i}`));
    expect(store.written).toEqual([]);
    expect(writer.pending).toBe(10);
    await writer.flush();
    expect(store.written.map((r) => r.vehicleId)).toEqual(Array.from({ length: 10 }, (_, i) => `v${i}`));
    expect(retries).toBe(2); // the first failure only splits the batch; the next two back off
    expect(store.written[0]).toMatchObject({ op: 'raise', severity: 'critical', countOccurrence: false });
    await writer.stop();
  });

  it('drops (and counts) an op the database rejects, without losing its neighbours', async () => {
    const store = new FlakyStore();
    store.rejectVehicle = 'bad';
    const dropped: string[] = [];
    const writer = new AlertWriter(store, log, { onDropped: (reason) => dropped.push(reason) });
    for (const id of ['a', 'bad', 'c']) writer.submit(raise(id));
    await writer.flush();
    expect(store.written.map((r) => r.vehicleId)).toEqual(['a', 'c']);
    expect(dropped).toEqual(['rejected']);
    await writer.stop();
  });

  it('is bounded: past maxQueued the oldest change is dropped and counted', async () => {
    const store = new FlakyStore();
    const dropped: string[] = [];
    const writer = new AlertWriter(store, log, { maxQueued: 3, onDropped: (reason) => dropped.push(reason) });
    for (const id of ['a', 'b', 'c', 'd', 'e']) writer.submit(raise(id));
    await writer.flush();
    expect(store.written.map((r) => r.vehicleId)).toEqual(['c', 'd', 'e']);
    expect(dropped).toEqual(['overflow', 'overflow']);
    await writer.stop();
  });

  it('stop() gives up after its timeout when the database stays down, leaving no timer behind', async () => {
    const store = new FlakyStore();
    store.failNext = Infinity;
    const writer = new AlertWriter(store, log, { retryBaseMs: 5, retryMaxMs: 10 });
    writer.submit(raise('a'));
    const started = Date.now();
    expect(await writer.stop(200)).toBe(1);
    expect(Date.now() - started).toBeLessThan(2_000);
    const calls = store.calls;
    await new Promise((r) => setTimeout(r, 50));
    expect(store.calls).toBe(calls);
    writer.submit(raise('b'));
    expect(writer.pending).toBe(0);
  });

  it('merges a raise into the queued raise of the same vehicle and kind, keeping occurrences; never across a resolve', async () => {
    const store = new FlakyStore();
    let coalesced = 0;
    const writer = new AlertWriter(store, log, { onCoalesced: () => coalesced++ });
    const r = (at: number, retrigger: boolean, n: number): AlertOp => ({
      op: 'raise',
      vehicleId: 'a',
      kind: 'crash',
      at,
      details: { n },
      retrigger,
    });
    writer.submit(r(10, false, 1));
    writer.submit(r(20, true, 2));
    writer.submit(r(30, true, 3));
    writer.submit({ op: 'resolve', vehicleId: 'a', kind: 'crash', at: 40, reason: 'x' });
    writer.submit(r(50, false, 4));
    writer.submit(r(60, true, 5));
    writer.submit({ op: 'raise', vehicleId: 'b', kind: 'crash', at: 70, details: {}, retrigger: false });
    expect(writer.pending).toBe(4);
    await writer.flush();
    expect(coalesced).toBe(3);
    expect(store.written).toEqual([
      expect.objectContaining({
        op: 'raise',
        vehicleId: 'a',
        at: 10,
        lastAt: 30,
        details: { n: 3 },
        countOccurrence: false,
        extraOccurrences: 2,
      }),
      expect.objectContaining({ op: 'resolve', vehicleId: 'a', at: 40 }),
      expect.objectContaining({ op: 'raise', vehicleId: 'a', at: 50, lastAt: 60, details: { n: 5 }, extraOccurrences: 1 }),
      expect.objectContaining({ op: 'raise', vehicleId: 'b', at: 70, lastAt: 70, extraOccurrences: 0 }),
    ]);
    await writer.stop();
  });

  it('does not merge into a raise that is being written (it is in the database already or about to be)', async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const written: WriteRow[] = [];
    const store: AlertStore = {
      async write(rows) {
        await gate;
        written.push(...rows);
        return rows.map(() => ({ outcome: 'none' as const }));
      },
    };
    const writer = new AlertWriter(store, log);
    writer.submit(raise('a'));
    await new Promise((r) => setTimeout(r, 5)); // the first batch is being written
    writer.submit({ op: 'raise', vehicleId: 'a', kind: 'crash', at: 2, details: {}, retrigger: true });
    release();
    await writer.flush();
    expect(written).toHaveLength(2);
    expect(written[1]).toMatchObject({ countOccurrence: true, extraOccurrences: 0 });
    await writer.stop();
  });

  it('stop() keeps writing a long queue while the database makes progress, far beyond the stall deadline', async () => {
    const store = new FlakyStore();
    const slow: AlertStore = {
      write: async (rows) => {
        await new Promise((r) => setTimeout(r, 15));
        return store.write(rows);
      },
    };
    const writer = new AlertWriter(slow, log, { batchSize: 10 });
    for (let i = 0; i < 300; i++) writer.submit(raise(`v${i}`)); // 30 batches × ≥ 16 ms ≈ 0.5 s
    const started = Date.now();
    const left = await writer.stop(100);
    expect(Date.now() - started).toBeGreaterThan(300);
    expect(left).toBe(0);
    expect(store.written).toHaveLength(300);
  });

  it('stop() retries through a short outage and returns what is left when the database stays down', async () => {
    const store = new FlakyStore();
    store.failNext = 4;
    const writer = new AlertWriter(store, log, { retryBaseMs: 5, retryMaxMs: 20 });
    writer.submit(raise('a'));
    expect(await writer.stop(1_000)).toBe(0);
    expect(store.written.map((r) => r.vehicleId)).toEqual(['a']);

    const down = new FlakyStore();
    down.failNext = Infinity;
    const stuck = new AlertWriter(down, log, { retryBaseMs: 5, retryMaxMs: 20 });
    stuck.submit(raise('a'));
    stuck.submit(raise('b'));
    expect(await stuck.stop(100)).toBe(2);
  });
});
