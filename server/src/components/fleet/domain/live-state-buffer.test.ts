import { describe, expect, it } from 'vitest';
import type { StateBatch } from '../data/vehicle-state.repository.js';
import type { Logger } from '../../../platform/log.js';
import { LiveStateBuffer, type TelemetrySample } from './live-state-buffer.js';

const silent: Logger = { debug: () => {}, info: () => {}, warn: () => {}, error: () => {}, child: () => silent, pino: undefined as never };

function sample(seq: number, lat = 52.5): TelemetrySample {
  return { seq, deviceTs: seq * 1000, lat, lon: 13.4, speedKph: 0, headingDeg: 0, energyPct: 50, odometerKm: 1, ignition: false, locked: true, doorsClosed: true };
}

function fakeRepo(initial: Map<string, number> = new Map()) {
  const batches: StateBatch[] = [];
  let failNext = 0;
  return {
    batches,
    failTimes: (n: number) => {
      failNext = n;
    },
    lastSeqs: async () => initial,
    writeBatch: async (batch: StateBatch) => {
      if (failNext > 0) {
        failNext -= 1;
        throw new Error('database down');
      }
      batches.push(batch);
    },
  };
}

function newBuffer(repo: ReturnType<typeof fakeRepo>, maxBatch = 500) {
  return new LiveStateBuffer(repo, silent, { flushIntervalMs: 60_000, maxBatch });
}

describe('LiveStateBuffer', () => {
  it('refuses a seq equal to (duplicate) or below (stale) the last accepted one', () => {
    const buffer = newBuffer(fakeRepo());
    expect(buffer.recordTelemetry('a', sample(5), 1)).toBe('accepted');
    expect(buffer.recordTelemetry('a', sample(5), 2)).toBe('duplicate');
    expect(buffer.recordTelemetry('a', sample(4), 3)).toBe('stale');
    expect(buffer.recordTelemetry('a', sample(6), 4)).toBe('accepted');
    expect(buffer.recordTelemetry('b', sample(1), 5)).toBe('accepted');
  });

  it('starts from the stored seqs, so a restart does not accept old messages', async () => {
    const buffer = newBuffer(fakeRepo(new Map([['a', 10]])));
    await buffer.start();
    expect(buffer.recordTelemetry('a', sample(10), 1)).toBe('duplicate');
    expect(buffer.recordTelemetry('a', sample(11), 1)).toBe('accepted');
    await buffer.stop();
  });

  it('writes only the latest state per vehicle, and a later offline status wins over telemetry', async () => {
    const repo = fakeRepo();
    const buffer = newBuffer(repo);
    buffer.recordTelemetry('a', sample(1, 1), 100);
    buffer.recordTelemetry('a', sample(2, 2), 200);
    buffer.recordStatus('a', false, 300, false);
    buffer.recordStatus('b', true, 400, true);
    await buffer.flush();
    expect(repo.batches).toHaveLength(1);
    const [batch] = repo.batches;
    expect(batch!.telemetry).toEqual([expect.objectContaining({ vehicleId: 'a', seq: 2, lat: 2, online: false, receivedAt: 300 })]);
    expect(batch!.statuses).toEqual([
      { vehicleId: 'a', online: false, receivedAt: 300 },
      // retained: no liveness information
      { vehicleId: 'b', online: true, receivedAt: null },
    ]);
  });

  it('splits large flushes into batches of maxBatch rows', async () => {
    const repo = fakeRepo();
    const buffer = newBuffer(repo, 3);
    for (let i = 0; i < 7; i++) buffer.recordTelemetry(`v${i}`, sample(1), 1);
    await buffer.flush();
    expect(repo.batches.map((b) => b.telemetry.length)).toEqual([3, 3, 1]);
  });

  it('keeps a failed batch and retries it, newer state winning', async () => {
    const repo = fakeRepo();
    const buffer = newBuffer(repo);
    buffer.recordTelemetry('a', sample(1, 1), 100);
    buffer.recordTelemetry('b', sample(1, 1), 100);
    repo.failTimes(1);
    await buffer.flush(); // fails, never rejects
    expect(buffer.pendingCount).toBe(2);
    buffer.recordTelemetry('a', sample(2, 2), 200);
    await buffer.flush();
    expect(repo.batches).toHaveLength(1);
    const rows = repo.batches[0]!.telemetry.map((r) => [r.vehicleId, r.seq, r.lat]);
    expect(rows).toEqual(
      expect.arrayContaining([
        ['a', 2, 2],
        ['b', 1, 1],
      ]),
    );
    expect(buffer.pendingCount).toBe(0);
  });
});
