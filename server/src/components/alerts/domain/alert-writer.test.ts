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
    await writer.stop(200);
    expect(Date.now() - started).toBeLessThan(2_000);
    const calls = store.calls;
    await new Promise((r) => setTimeout(r, 50));
    expect(store.calls).toBe(calls);
    writer.submit(raise('b'));
    expect(writer.pending).toBe(0);
  });
});
