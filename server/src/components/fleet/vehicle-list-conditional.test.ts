/**
 * `GET /ops/v1/vehicles` as a conditional read (PGlite always, PostgreSQL when DATABASE_URL is set): its ETag holds
 * while the active fleet is unchanged (304, no body, for a matching If-None-Match), and changes with a changed
 * field, a retirement and a reinstatement — so a desk holding the list always learns that a car left.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { VehicleInfo } from '../../../../src/shared/fleet.js';
import { startServer, type ServerHandle } from '../../app.js';
import { noneMatchHits } from '../../platform/http/conditional.js';
import { staffHeaders } from '../../testing/auth.js';
import { dbBackends } from '../../testing/backends.js';

describe('If-None-Match matching', () => {
  it('matches the tag itself, in a list, weak or strong, and *; never a missing or other tag', () => {
    expect(noneMatchHits('"a-1"', '"a-1"')).toBe(true);
    expect(noneMatchHits('W/"a-1"', '"a-1"')).toBe(true);
    expect(noneMatchHits('"x", "a-1"', '"a-1"')).toBe(true);
    expect(noneMatchHits(['"x"', '"a-1"'], '"a-1"')).toBe(true);
    expect(noneMatchHits('*', '"a-1"')).toBe(true);
    expect(noneMatchHits(undefined, '"a-1"')).toBe(false);
    expect(noneMatchHits('', '"a-1"')).toBe(false);
    expect(noneMatchHits('"a-2"', '"a-1"')).toBe(false);
    expect(noneMatchHits('a-1', '"a-1"')).toBe(false);
  });
});

describe.each(dbBackends())('GET /ops/v1/vehicles conditional read on $name', (backend) => {
  let server: ServerHandle;
  let cleanup: () => Promise<void>;
  let dispatcher: Record<string, string>;
  let admin: Record<string, string>;
  beforeAll(async () => {
    const created = await backend.create();
    cleanup = created.cleanup;
    server = await startServer({ ...created.overrides, port: 0, mqttPort: 0, mqttUrl: undefined, logLevel: 'silent', seedVehicles: 5 });
    dispatcher = await staffHeaders(server, 'dispatcher', 't-dispatcher');
    admin = await staffHeaders(server, 'admin', 't-admin');
  });
  afterAll(async () => {
    await server?.stop();
    await cleanup?.();
  });

  const read = async (ifNoneMatch?: string) => {
    const res = await fetch(`${server.httpUrl}/ops/v1/vehicles`, {
      headers: { ...dispatcher, ...(ifNoneMatch ? { 'if-none-match': ifNoneMatch } : {}) },
    });
    const text = await res.text();
    return {
      status: res.status,
      etag: res.headers.get('etag'),
      text,
      vehicles: res.status === 200 ? (JSON.parse(text) as { vehicles: VehicleInfo[] }).vehicles : undefined,
    };
  };
  const patch = async (id: string, body: unknown) => {
    const res = await fetch(`${server.httpUrl}/ops/v1/vehicles/${id}`, {
      method: 'PATCH',
      headers: { ...admin, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    expect(res.status).toBe(200);
  };

  it('answers 304 with no body while nothing changed, and the full list (new tag) after a change, a retirement and a reinstatement', async () => {
    const first = await read();
    expect(first.status).toBe(200);
    expect(first.vehicles).toHaveLength(5);
    expect(first.etag).toMatch(/^"[0-9a-f]{32}-5"$/);

    // unchanged: 304, empty body, the same tag; a stale or absent tag still gets the list
    const again = await read(first.etag!);
    expect(again).toMatchObject({ status: 304, etag: first.etag, text: '' });
    expect((await read('"stale-1"')).status).toBe(200);
    expect((await read()).etag).toBe(first.etag);

    // a listed field changed
    const car = first.vehicles![1]!;
    await patch(car.id, { homeZone: car.homeZone === 'mitte' ? 'kreuzberg' : 'mitte' });
    const changed = await read(first.etag!);
    expect(changed.status).toBe(200);
    expect(changed.etag).not.toBe(first.etag);
    expect(changed.vehicles!.find((v) => v.id === car.id)!.homeZone).not.toBe(car.homeZone);
    expect((await read(changed.etag!)).status).toBe(304);

    // retired: the holder of the previous tag gets the list without the car
    await patch(car.id, { retired: true, reason: 'sold' });
    const afterRetire = await read(changed.etag!);
    expect(afterRetire.status).toBe(200);
    expect(afterRetire.vehicles!.map((v) => v.id)).not.toContain(car.id);
    expect(afterRetire.vehicles).toHaveLength(4);
    expect(afterRetire.etag).not.toBe(changed.etag);
    expect((await read(afterRetire.etag!)).status).toBe(304);

    // reinstated: back in the list; the tag is the content's, so it is again the one the list had before the car left
    await patch(car.id, { retired: false });
    const back = await read(afterRetire.etag!);
    expect(back.status).toBe(200);
    expect(back.vehicles!.map((v) => v.id)).toContain(car.id);
    expect(back.etag).toBe(changed.etag);
  });

  it('asks the same of every reader: no tag without staff rights', async () => {
    const res = await fetch(`${server.httpUrl}/ops/v1/vehicles`, { headers: { 'if-none-match': '*' } });
    expect(res.status).toBe(401);
  });
});
