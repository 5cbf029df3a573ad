import { describe, expect, it, vi } from 'vitest';
import type { StateBatch } from '../data/vehicle-state.repository.js';
import type { Logger } from '../../../platform/log.js';
import { HistoryBuffer } from './history-buffer.js';
import { LiveStateBuffer, type TelemetrySample } from './live-state-buffer.js';

const silent: Logger = { debug: () => {}, info: () => {}, warn: () => {}, error: () => {}, child: () => silent, pino: undefined as never };

function sample(seq: number, lat = 52.5): TelemetrySample {
  return {
    seq,
    deviceTs: seq * 1000,
    lat,
    lon: 13.4,
    speedKph: 0,
    headingDeg: 0,
    energyPct: 50,
    odometerKm: 1,
    ignition: false,
    locked: true,
    doorsClosed: true,
  };
}

function fakeRepo(initial: Map<string, number> = new Map()) {
  const batches: StateBatch[] = [];
  let failNext = 0;
  return {
    batches,
    failTimes: (n: number) => {
      failNext = n;
    },
    lastTelemetry: async () => new Map([...initial].map(([id, seq]) => [id, { seq, deviceTs: seq * 1000, receivedAt: 0 }])),
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
  return new LiveStateBuffer(repo, silent, {
    flushIntervalMs: 60_000,
    maxBatch,
    clockSkewToleranceMs: 300_000,
    seqResetSilenceMs: 120_000,
  });
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

  it('writes the latest state while a slow history write is still running (they do not wait for each other)', async () => {
    const repo = fakeRepo();
    const historyWrites: number[] = [];
    let release: () => void = () => {};
    const historyHeld = new Promise<void>((resolve) => (release = resolve));
    const buffer = new LiveStateBuffer(
      {
        ...repo,
        writeHistory: async (rows) => {
          await historyHeld;
          historyWrites.push(rows.length);
        },
      },
      silent,
      {
        flushIntervalMs: 60_000,
        maxBatch: 500,
        clockSkewToleranceMs: 300_000,
        seqResetSilenceMs: 120_000,
        history: new HistoryBuffer({ capacity: 1_000, chunkRows: 100 }),
      },
    );
    buffer.recordTelemetry('a', sample(1), 100);
    const first = buffer.flush(); // its history write hangs
    await vi.waitFor(() => expect(repo.batches).toHaveLength(1));
    buffer.recordTelemetry('a', sample(2), 200);
    const second = buffer.flush();
    await vi.waitFor(() => expect(repo.batches).toHaveLength(2));
    expect(repo.batches[1]!.telemetry[0]!.seq).toBe(2);
    expect(historyWrites).toEqual([]); // still held: the state did not wait for it
    release();
    await Promise.all([first, second]);
    expect(historyWrites).toEqual([1, 1]);
  });

  describe('device clocks and seq resets', () => {
    const T0 = 1_790_000_000_000;
    const at = (seq: number, deviceTs: number, lat = 52.5): TelemetrySample => ({ ...sample(seq, lat), deviceTs });

    it('accepts a far-off clock but flags it, and stores the skew with the state and history', async () => {
      const repo = fakeRepo();
      const history: unknown[] = [];
      const skewed: number[] = [];
      const buffer = new LiveStateBuffer({ ...repo, writeHistory: async (rows) => void history.push(...rows.toRows()) }, silent, {
        flushIntervalMs: 60_000,
        maxBatch: 500,
        clockSkewToleranceMs: 300_000,
        seqResetSilenceMs: 120_000,
        history: new HistoryBuffer({ capacity: 100, chunkRows: 10 }),
        onClockSkew: (_id, ms) => skewed.push(ms),
      });
      expect(buffer.judgeTelemetry('a', at(1, T0 - 3_600_000), T0)).toEqual({ outcome: 'accepted', clockSkewMs: -3_600_000 });
      expect(buffer.judgeTelemetry('a', at(2, T0 + 1_000), T0 + 1_000)).toEqual({ outcome: 'accepted', clockSkewMs: 0 });
      expect(skewed).toEqual([-3_600_000]);
      await buffer.flush();
      expect(repo.batches[0]!.telemetry[0]).toMatchObject({ seq: 2, clockSkewMs: 0, receivedAt: T0 + 1_000 });
      expect(history).toEqual([
        expect.objectContaining({ seq: 1, clockSkewMs: -3_600_000, receivedAt: T0 }),
        expect.objectContaining({ seq: 2 }),
      ]);
    });

    it('a skewed clock never moves state backwards: order is by seq, last seen by receive time', () => {
      const buffer = newBuffer(fakeRepo());
      expect(buffer.recordTelemetry('a', at(10, T0 + 86_400_000), T0)).toBe('accepted'); // clock a day ahead
      expect(buffer.recordTelemetry('a', at(9, T0 + 86_500_000), T0 + 10)).toBe('stale'); // even newer device ts: still stale (skewed)
      expect(buffer.recordTelemetry('a', at(10, T0 + 86_400_000), T0 + 20)).toBe('duplicate');
    });

    it('rule 1: a lower seq with a sane clock clearly ahead of the last one is a reset (reboot)', () => {
      const resets: Array<[number, number]> = [];
      const buffer = new LiveStateBuffer(fakeRepo(), silent, {
        flushIntervalMs: 60_000,
        maxBatch: 500,
        clockSkewToleranceMs: 300_000,
        seqResetSilenceMs: 120_000,
        onSeqReset: (_id, a, b) => resets.push([a, b]),
      });
      expect(buffer.recordTelemetry('a', at(5000, T0), T0)).toBe('accepted');
      expect(buffer.recordTelemetry('a', at(4999, T0 - 1_000), T0 + 5)).toBe('stale'); // reordered: older ts
      expect(buffer.recordTelemetry('a', at(3, T0 + 30_000), T0 + 30_000)).toBe('stale'); // ahead, but not by the minimum
      expect(buffer.recordTelemetry('a', at(1, T0 + 90_000), T0 + 90_000)).toBe('accepted'); // rebooted
      expect(resets).toEqual([[5000, 1]]);
      expect(buffer.recordTelemetry('a', at(2, T0 + 91_000), T0 + 91_000)).toBe('accepted');
      // a late message from before the reboot: seq above the new counter, but older clock than the reset
      expect(buffer.recordTelemetry('a', at(4999, T0 - 1_000), T0 + 92_000)).toBe('stale');
      expect(buffer.recordTelemetry('a', at(3, T0 + 92_000), T0 + 92_000)).toBe('accepted');
    });

    it('rule 2: a device with a broken clock is accepted again after the silence period, not frozen forever', () => {
      const buffer = newBuffer(fakeRepo());
      expect(buffer.recordTelemetry('a', at(500, 0), T0)).toBe('accepted'); // clock at 1970
      expect(buffer.recordTelemetry('a', at(1, 0), T0 + 60_000)).toBe('stale');
      expect(buffer.recordTelemetry('a', at(1, 0), T0 + 121_000)).toBe('accepted');
      expect(buffer.recordTelemetry('a', at(1, 0), T0 + 300_000)).toBe('duplicate'); // exact repeat
    });

    it('marks the written row as a reset so the SQL guard lets it below the stored seq', async () => {
      const repo = fakeRepo();
      const buffer = newBuffer(repo);
      buffer.recordTelemetry('a', at(50, T0), T0);
      await buffer.flush();
      buffer.recordTelemetry('a', at(1, T0 + 120_000), T0 + 120_000);
      buffer.recordTelemetry('a', at(2, T0 + 121_000), T0 + 121_000);
      await buffer.flush();
      expect(repo.batches[1]!.telemetry[0]).toMatchObject({ seq: 2, seqReset: true });
    });
  });
});
