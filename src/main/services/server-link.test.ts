import { afterEach, describe, expect, it } from 'vitest';
import type { LinkState } from '../../shared/desktop-api.js';
import type { VehicleInfo, VehicleLive } from '../../shared/fleet.js';
import { silentLogger } from '../log.js';
import { startFakeServer, type FakeServer } from '../testing/fake-server.js';
import { vehicleInfo, vehicleLive, waitFor } from '../testing/fixtures.js';
import { FLEET_LIVE_PATH, ServerLink, VEHICLES_PATH } from './server-link.js';

function startLink(serverUrl: string, refreshIntervalMs = 60_000) {
  const registries: VehicleInfo[][] = [];
  /** whether each registry read was the server's whole list (no entry skipped) */
  const complete: boolean[] = [];
  const seeds: VehicleLive[][] = [];
  const states: LinkState[] = [];
  const link = new ServerLink({
    serverUrl,
    onRegistry: (v, whole) => {
      registries.push(v);
      complete.push(whole);
    },
    onSeed: (v) => seeds.push(v),
    onLinkChange: (s) => states.push(s),
    logger: silentLogger(),
    refreshIntervalMs,
    requestTimeoutMs: 1_000,
    backoff: { initialMs: 30, maxMs: 200 },
  });
  link.start();
  return { link, registries, complete, seeds, states };
}

describe('ServerLink', () => {
  let server: FakeServer | null = null;
  let link: ServerLink | null = null;
  afterEach(async () => {
    await link?.stop();
    await server?.close();
    link = null;
    server = null;
  });

  it('fetches the registry and the live seed at start, then refreshes only the registry', async () => {
    server = await startFakeServer();
    server.registry = [vehicleInfo('car-1'), vehicleInfo('car-2')];
    server.live = [vehicleLive('car-1', 3)];
    const started = startLink(server.url, 50);
    link = started.link;
    await waitFor(() => (server!.hits.get(VEHICLES_PATH) ?? 0) >= 3, 'three registry fetches');
    expect(started.registries[0]).toEqual(server.registry);
    expect(started.complete[0]).toBe(true);
    expect(started.seeds).toEqual([server.live]);
    expect(server.hits.get(FLEET_LIVE_PATH)).toBe(1);
    expect(server.hits.get(VEHICLES_PATH)).toBeGreaterThanOrEqual(3);
    expect(link.getLinkState()).toMatchObject({ status: 'connected', attempts: 0 });
    expect(started.states.map((s) => s.status)).toEqual(['connecting', 'connected']);
  });

  it('re-reads the registry conditionally: an unchanged list (304) is not handed on, a changed one is, whole', async () => {
    server = await startFakeServer();
    server.registry = [vehicleInfo('car-1'), vehicleInfo('car-2')];
    const started = startLink(server.url, 20);
    link = started.link;
    await waitFor(() => server!.notModified >= 3, 'three 304s');
    expect(started.registries).toEqual([[vehicleInfo('car-1'), vehicleInfo('car-2')]]);
    expect(link.getLinkState().status).toBe('connected');
    // car-2 retired on the server: the next read is a 200 with the whole list, which the fleet takes as complete
    server.registry = [vehicleInfo('car-1')];
    await waitFor(() => started.registries.length === 2, 'the changed list');
    expect(started.registries[1]).toEqual([vehicleInfo('car-1')]);
    expect(started.complete).toEqual([true, true]);
    const after = server.notModified;
    await waitFor(() => server!.notModified >= after + 2, 'unchanged again');
    expect(started.registries).toHaveLength(2);
  });

  it('a read that skipped invalid entries keeps no tag: the next read is whole again', async () => {
    server = await startFakeServer();
    server.registry = [vehicleInfo('car-1'), { id: 'bad/id' } as unknown as VehicleInfo];
    const started = startLink(server.url, 20);
    link = started.link;
    await waitFor(() => started.registries.length >= 3, 'three full reads');
    expect(server.notModified).toBe(0);
    expect(started.complete.slice(0, 3)).toEqual([false, false, false]);
    // fixed on the server: one complete read, then 304s
    server.registry = [vehicleInfo('car-1')];
    await waitFor(() => server!.notModified >= 2, 'conditional reads once complete');
    expect(started.complete.at(-1)).toBe(true);
  });

  it('without an ETag from the server every read is whole, as before', async () => {
    server = await startFakeServer();
    server.conditional = false;
    server.registry = [vehicleInfo('car-1')];
    const started = startLink(server.url, 20);
    link = started.link;
    await waitFor(() => started.registries.length >= 3, 'three full reads');
    expect(started.complete.slice(0, 3)).toEqual([true, true, true]);
  });

  it('skips invalid entries and treats a response without the list as a failure', async () => {
    server = await startFakeServer();
    server.registry = [
      vehicleInfo('car-1'),
      { id: 'bad/id' } as unknown as VehicleInfo,
      vehicleInfo('car-2', { energyType: 'steam' as never }),
    ];
    server.live = [vehicleLive('car-1', 3), vehicleLive('car-2', 3, { lat: 123 })];
    const started = startLink(server.url);
    link = started.link;
    await waitFor(() => started.seeds.length === 1, 'seed');
    expect(started.registries[0]!.map((v) => v.id)).toEqual(['car-1']);
    // entries were skipped: the list is not the whole fleet, so no registered car is taken as retired
    expect(started.complete[0]).toBe(false);
    expect(started.seeds[0]!.map((v) => v.id)).toEqual(['car-1']);
  });

  it('server down → reconnecting then offline, no crash; recovers and seeds when it comes back', async () => {
    // find a free port, then leave it closed
    const probe = await startFakeServer();
    const url = probe.url;
    const port = Number(new URL(url).port);
    await probe.close();

    const started = startLink(url);
    link = started.link;
    await waitFor(() => link!.getLinkState().status === 'offline', 'offline after retries');
    const statuses = started.states.map((s) => s.status);
    expect(statuses[0]).toBe('connecting');
    expect(statuses).toContain('reconnecting');
    expect(link.getLinkState().attempts).toBeGreaterThanOrEqual(3);
    expect(link.getLinkState().detail).toMatch(/ECONNREFUSED|fetch failed/);
    expect(started.seeds).toHaveLength(0);

    server = await startFakeServer(port);
    server.registry = [vehicleInfo('car-1')];
    server.live = [vehicleLive('car-1', 9)];
    await waitFor(() => link!.getLinkState().status === 'connected', 'connected after server is back', 5_000);
    expect(started.seeds).toEqual([server.live]);
    expect(link.getLinkState().attempts).toBe(0);
  });

  it('HTTP errors count as failures with the status in the detail', async () => {
    server = await startFakeServer();
    server.failWith = 503;
    const started = startLink(server.url);
    link = started.link;
    await waitFor(() => link!.getLinkState().status === 'reconnecting', 'reconnecting');
    expect(link.getLinkState().detail).toContain('HTTP 503');
    server.failWith = null;
    await waitFor(() => link!.getLinkState().status === 'connected', 'connected');
  });

  it('stop() aborts an in-flight request and leaves no timer behind', async () => {
    server = await startFakeServer();
    const started = startLink(server.url, 10);
    link = started.link;
    await waitFor(() => started.registries.length >= 1, 'first fetch');
    await link.stop();
    const count = server.hits.get(VEHICLES_PATH);
    await new Promise((r) => setTimeout(r, 60));
    expect(server.hits.get(VEHICLES_PATH)).toBe(count);
    expect(link.getLinkState()).toMatchObject({ status: 'offline', detail: 'stopped' });
  });
});
