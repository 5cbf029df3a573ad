import { describe, expect, it } from 'vitest';
import type { FleetFrame, FleetSnapshot, LinkState } from '../../../shared/desktop-api.js';
import type { VehicleLive } from '../../../shared/fleet.js';
import { liveVehicle } from '../testing/fixtures';
import { FleetStore, type FleetChange } from './fleet-store';

const vehicle = liveVehicle;

function harness(snapshots: Array<FleetSnapshot | Error>) {
  let frameCb: ((f: FleetFrame) => void) | undefined;
  let linkCb: ((s: LinkState) => void) | undefined;
  let link: LinkState = { status: 'connected', since: 0, attempts: 0 };
  let reads = 0;
  const pending: Array<() => void> = [];
  const store = new FleetStore({
    fleet: {
      getSnapshot: () =>
        new Promise<FleetSnapshot>((resolve, reject) => {
          const next = snapshots[Math.min(reads++, snapshots.length - 1)]!;
          pending.push(() => (next instanceof Error ? reject(next) : resolve(next)));
        }),
      onFrame: (cb) => ((frameCb = cb), () => (frameCb = undefined)),
    },
    hostLink: () => link,
    onHostLinkChange: (cb) => ((linkCb = cb), () => (linkCb = undefined)),
  });
  const changes: FleetChange[] = [];
  store.subscribe((c) => changes.push(c));
  return {
    store,
    changes,
    reads: () => reads,
    /** answer the oldest outstanding getSnapshot and let the store process it */
    answer: async () => {
      pending.shift()?.();
      await new Promise((r) => setTimeout(r, 0));
    },
    frame: (seq: number, upserts: VehicleLive[] = [], more: Partial<FleetFrame> = {}) =>
      frameCb?.({ seq, at: 0, upserts, registry: [], ...more }),
    mergedFrame: (fromSeq: number, seq: number, upserts: VehicleLive[] = []) => frameCb?.({ fromSeq, seq, at: 0, upserts, registry: [] }),
    link: (status: LinkState['status']) => {
      link = { status, since: 0, attempts: 0 };
      linkCb?.(link);
    },
  };
}

describe('FleetStore', () => {
  it('loads the snapshot, then applies contiguous frames as deltas', async () => {
    const h = harness([{ seq: 10, at: 0, vehicles: [vehicle('a'), vehicle('b', { online: false })], registry: [] }]);
    h.store.start();
    await h.answer();
    expect(h.store.live.size).toBe(2);
    expect(h.store.live.get('b')!.online).toBe(false);
    h.frame(11, [vehicle('a', { speedKph: 30 })]);
    expect(h.store.seq).toBe(11);
    expect(h.store.live.get('a')!.speedKph).toBe(30);
    expect(h.changes.map((c) => c.kind)).toEqual(['reset', 'delta']);
  });

  it('buffers frames during the first load and replays only those newer than the snapshot', async () => {
    const h = harness([{ seq: 5, at: 0, vehicles: [vehicle('a')], registry: [] }]);
    h.store.start();
    h.frame(5, [vehicle('a', { speedKph: 99 })]); // already in the snapshot
    h.frame(6, [vehicle('a', { speedKph: 20 })]);
    await h.answer();
    expect(h.store.seq).toBe(6);
    expect(h.store.live.get('a')?.speedKph).toBe(20);
  });

  it('re-reads the snapshot on a gap in frame sequence', async () => {
    const h = harness([
      { seq: 1, at: 0, vehicles: [vehicle('a')], registry: [] },
      { seq: 9, at: 0, vehicles: [vehicle('a'), vehicle('c')], registry: [] },
    ]);
    h.store.start();
    await h.answer();
    h.frame(2);
    h.frame(4); // frame 3 lost
    expect(h.reads()).toBe(2);
    await h.answer();
    expect(h.store.seq).toBe(9);
    expect(h.store.live.has('c')).toBe(true);
    expect(h.store.resyncCount).toBe(1);
  });

  it('applies a merged frame that continues the sequence from its fromSeq, and ignores one it already holds', async () => {
    const h = harness([{ seq: 10, at: 0, vehicles: [vehicle('a')], registry: [] }]);
    h.store.start();
    h.mergedFrame(8, 10, [vehicle('a', { speedKph: 99 })]); // sent before the snapshot that covers it
    await h.answer();
    h.mergedFrame(9, 10, [vehicle('a', { speedKph: 98 })]); // arrives after the snapshot: all of it held already
    expect(h.store.live.get('a')?.speedKph).not.toBe(98);
    h.mergedFrame(11, 14, [vehicle('a', { speedKph: 40 }), vehicle('b')]);
    expect(h.store.seq).toBe(14);
    expect(h.store.live.get('a')?.speedKph).toBe(40);
    expect(h.store.live.has('b')).toBe(true);
    h.frame(15);
    expect(h.store.seq).toBe(15);
    expect(h.reads()).toBe(1);
    // a merged frame after a hole is a gap like any other
    h.mergedFrame(17, 18);
    expect(h.reads()).toBe(2);
  });

  it('re-reads the snapshot when the host link comes back', async () => {
    const h = harness([{ seq: 1, at: 0, vehicles: [], registry: [] }]);
    h.store.start();
    await h.answer();
    h.link('reconnecting');
    h.link('connected');
    expect(h.reads()).toBe(2);
  });

  it('does not read twice when the first read waits for the first connection', async () => {
    const h = harness([{ seq: 1, at: 0, vehicles: [], registry: [] }]);
    h.link('connecting');
    h.store.start();
    h.link('connected');
    await h.answer();
    expect(h.reads()).toBe(1);
    expect(h.store.resyncCount).toBe(0);
  });

  it('reports a failed load and recovers on the next connection', async () => {
    const h = harness([new Error('host-link-lost'), { seq: 3, at: 0, vehicles: [vehicle('a')], registry: [] }]);
    h.link('reconnecting');
    h.store.start();
    await h.answer();
    expect(h.store.status).toBe('error');
    h.link('connected');
    await h.answer();
    expect(h.store.status).toBe('live');
    expect(h.store.seq).toBe(3);
  });

  it('fills in last-known vehicles from the replica where the host has nothing newer, and keeps them across a snapshot re-read', async () => {
    const h = harness([
      { seq: 1, at: 0, vehicles: [vehicle('a', { receivedAt: 5_000 })], registry: [] },
      { seq: 7, at: 0, vehicles: [], registry: [] },
    ]);
    h.store.start();
    await h.answer();
    const info = (id: string) => ({ id, plate: `P-${id}`, make: 'm', model: 'm', energyType: 'fuel' as const, homeZone: 'z' });
    h.store.setLastKnown([
      { info: info('a'), live: vehicle('a', { online: false, receivedAt: 1_000, lat: 1 }) }, // older than the host's: ignored
      { info: info('b'), live: vehicle('b', { online: false, receivedAt: 2_000, lat: 2 }) }, // unknown to the host: shown
      { info: info('c'), live: undefined }, // registry only
    ]);
    expect(h.store.live.get('a')!.receivedAt).toBe(5_000);
    expect(h.store.live.get('b')!.lat).toBe(2);
    expect(h.store.registry.get('c')!.plate).toBe('P-c');
    // every car the desk counts (the business-state index counts a registry-only car as offline)
    expect([...h.store.allIds()].sort()).toEqual(['a', 'b', 'c']);
    const last = h.changes.at(-1)!;
    expect(last.kind === 'delta' && last.upserts.map((v) => v.id)).toEqual(['b']);
    // the host restarts with nothing (server down): the replica's vehicles stay on screen
    h.link('reconnecting');
    h.link('connected');
    await h.answer();
    expect([...h.store.live.keys()].sort()).toEqual(['a', 'b']);
    expect(h.store.live.get('a')!.online).toBe(false);
  });

  it('never turns a car a live link vouches for offline with its replica copy, even when that copy is newer', async () => {
    const h = harness([
      { seq: 1, at: 0, vehicles: [vehicle('a', { receivedAt: 5_000 }), vehicle('b', { online: false, receivedAt: 5_000 })], registry: [] },
    ]);
    h.store.start();
    await h.answer();
    const info = (id: string) => ({ id, plate: `P-${id}`, make: 'm', model: 'm', energyType: 'fuel' as const, homeZone: 'z' });
    // the server stamps its own receive time, a few ms after the desk's for the same report
    h.store.setLastKnown([
      { info: info('a'), live: vehicle('a', { online: false, receivedAt: 5_004, lat: 9 }) },
      { info: info('b'), live: vehicle('b', { online: false, receivedAt: 9_000, lat: 7 }) },
    ]);
    expect(h.store.live.get('a')).toMatchObject({ online: true, receivedAt: 5_000 });
    // a car the host itself has as offline takes the replica's newer last-known position
    expect(h.store.live.get('b')).toMatchObject({ online: false, receivedAt: 9_000, lat: 7 });
  });

  it('drops a car that left the fleet (retired) and rebuilds; the replica does not bring it back until the host does', async () => {
    const info = (id: string) => ({ id, plate: `P-${id}`, make: 'm', model: 'm', energyType: 'fuel' as const, homeZone: 'z' });
    const h = harness([
      { seq: 1, at: 0, vehicles: [vehicle('a'), vehicle('b')], registry: [info('a'), info('b')] },
      { seq: 9, at: 0, vehicles: [vehicle('b')], registry: [info('b')] },
    ]);
    h.store.start();
    await h.answer();
    // the replica has not heard of the retirement yet
    h.store.setLastKnown([
      { info: info('a'), live: vehicle('a', { online: false, receivedAt: 1 }) },
      { info: info('b'), live: undefined },
      { info: info('r'), live: vehicle('r', { online: false, receivedAt: 1 }) }, // known only to the replica
    ]);
    h.frame(2, [vehicle('b', { speedKph: 40 })], { removed: ['a'] });
    expect(h.store.seq).toBe(2);
    expect(h.store.live.has('a')).toBe(false);
    expect(h.store.registry.has('a')).toBe(false);
    expect(h.store.live.get('b')!.speedKph).toBe(40);
    // the layers rebuild from the store (the business-state index, the map and the grid drop the car)
    expect(h.changes.at(-1)).toEqual({ kind: 'reset' });
    expect([...h.store.allIds()].sort()).toEqual(['b', 'r']);
    // a snapshot re-read with the replica still listing it: it stays gone
    h.link('reconnecting');
    h.link('connected');
    await h.answer();
    expect([...h.store.allIds()].sort()).toEqual(['b', 'r']);
    // the replica drops the car it alone held (retired too): gone, and the layers rebuild
    const resets = h.changes.filter((c) => c.kind === 'reset').length;
    h.store.setLastKnown([{ info: info('b'), live: undefined }]);
    expect([...h.store.allIds()]).toEqual(['b']);
    expect(h.changes.filter((c) => c.kind === 'reset').length).toBe(resets + 1);
    // reinstated: the host registers it again
    h.frame(10, [vehicle('a', { speedKph: 5 })], { registry: [info('a')] });
    expect(h.store.registry.get('a')!.plate).toBe('P-a');
    expect(h.store.live.get('a')!.speedKph).toBe(5);
  });
});
