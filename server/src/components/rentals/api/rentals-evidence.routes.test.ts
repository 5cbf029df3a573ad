/**
 * The staff side of a rental's evidence over HTTP, on each database engine: the detail (support/admin; a
 * dispatcher gets 403 — customer data; nobody signed in 401; an unknown rental 404), the end check without
 * ending, damage photos served to staff only with their content type (another rental's report, an index it does
 * not have, a path that tries to leave the directory: refused), and the end on the customer's behalf — an override
 * needs a reason, and is audited in the same transaction as the end (an audit that fails leaves the rental active).
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type ServerHandle } from '../../../app.js';
import { signUpCustomer, staffHeaders, type SignedUpCustomer, type TestStaffRole } from '../../../testing/auth.js';
import { dbBackends } from '../../../testing/backends.js';
import { call, expectProblem, insertClaimRow, MIN, placeVehicle, QUIET, type CallResult } from '../../../testing/bookings.js';
import { uniqueTestVehicles } from '../../../testing/devices.js';

const JPEG = Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0]), Buffer.alloc(1_200, 7)]);
const PNG = Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), Buffer.alloc(900, 3)]);
const INSIDE = { lat: 52.515, lon: 13.405 };

describe.each(dbBackends())('staff rental evidence, end check, damage photos and the override on $name', (backend) => {
  let server: ServerHandle;
  let cleanup: () => Promise<void>;
  let owner: SignedUpCustomer;
  let vehicleIds: string[];
  let rentalId: string;
  let otherRentalId: string;
  let reportId: string;
  let otherReportId: string;

  const as = async (role: TestStaffRole | null) => (role ? await staffHeaders(server, role) : {});
  const get = async (role: TestStaffRole | null, path: string) => call(server, 'GET', `/ops/v1${path}`, { headers: await as(role) });
  const end = async (role: TestStaffRole, id: string, body: unknown) =>
    call<Record<string, unknown>>(server, 'POST', `/ops/v1/rentals/${id}/end`, { headers: await as(role), body });
  async function photo(
    role: TestStaffRole | null,
    path: string,
  ): Promise<{ status: number; type: string | null; bytes: Buffer; headers: Headers }> {
    const res = await fetch(`${server.httpUrl}/ops/v1/rentals/${path}`, { headers: await as(role) });
    return { status: res.status, type: res.headers.get('content-type'), bytes: Buffer.from(await res.arrayBuffer()), headers: res.headers };
  }
  async function report(id: string, photos: Buffer[]): Promise<string> {
    const form = new FormData();
    form.append('text', 'Dent in the driver door');
    photos.forEach((p, i) => form.append('photos', new Blob([p]), `p${i}.bin`));
    const res = await fetch(`${server.httpUrl}/v1/rentals/${id}/damage-reports`, { method: 'POST', headers: owner.headers, body: form });
    const body = (await res.json()) as { reportId: string };
    expect(res.status, JSON.stringify(body)).toBe(201);
    return body.reportId;
  }

  beforeAll(async () => {
    const created = await backend.create();
    cleanup = created.cleanup;
    // the in-memory data dir keeps the photos in a temporary directory of the server's own, removed on stop
    server = await startServer({ ...QUIET, ...created.overrides, seedVehicles: 0, rentalLockTimeoutMs: 200 });
    const vehicles = uniqueTestVehicles(2);
    await server.registerVehicles(vehicles);
    vehicleIds = vehicles.map((v) => v.id);
    owner = await signUpCustomer(server);
    rentalId = `r-${randomUUID()}`;
    otherRentalId = `r-${randomUUID()}`;
    for (const [id, vehicleId] of [
      [rentalId, vehicleIds[0]!],
      [otherRentalId, vehicleIds[1]!],
    ] as const) {
      await insertClaimRow(server, {
        id,
        kind: 'rental',
        vehicleId,
        customerId: owner.customerId,
        status: 'active',
        from: Date.now() - 30 * MIN,
        to: null,
      });
    }
    reportId = await report(rentalId, [JPEG, PNG]);
    otherReportId = await report(otherRentalId, [PNG]);
  });

  afterAll(async () => {
    await server?.stop();
    await cleanup?.();
  });

  it('the evidence is for support and admin: a dispatcher is refused (customer data), nobody signed in is 401, an unknown rental 404', async () => {
    for (const role of ['support', 'admin'] as const) {
      const res = await get(role, `/rentals/${rentalId}`);
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      const body = res.body as {
        rental: { rentalId: string };
        evidence: { damageReports: Array<{ reportId: string; photos: unknown[] }> };
      };
      expect(body.rental.rentalId).toBe(rentalId);
      expect(body.evidence.damageReports.map((r) => [r.reportId, r.photos.length])).toEqual([[reportId, 2]]);
    }
    expectProblem(await get('dispatcher', `/rentals/${rentalId}`), 403);
    expectProblem(await get(null, `/rentals/${rentalId}`), 401);
    expectProblem(await get('support', '/rentals/no-such-rental'), 404, 'rental_not_found');
  });

  it('the end check judges the latest telemetry without ending; roles as for the evidence', async () => {
    // no telemetry yet
    let check = await get('support', `/rentals/${rentalId}/end-check`);
    expect(check.status).toBe(200);
    expect(check.body).toMatchObject({ rentalId, status: 'active', telemetryAt: null, blockers: [{ code: 'no_fresh_telemetry' }] });

    await placeVehicle(server, vehicleIds[0]!, INSIDE);
    check = await get('admin', `/rentals/${rentalId}/end-check`);
    expect(check.body).toMatchObject({ status: 'active', blockers: [] });
    expect(Date.parse((check.body as { telemetryAt: string }).telemetryAt)).toBeGreaterThan(Date.now() - MIN);

    await placeVehicle(server, vehicleIds[0]!, { lat: 48.1, lon: 11.6 });
    await server.db.query('update vehicle_state set doors_closed = false where vehicle_id = $1', [vehicleIds[0]]);
    check = await get('support', `/rentals/${rentalId}/end-check`);
    expect((check.body as { blockers: Array<{ code: string }> }).blockers.map((b) => b.code)).toEqual([
      'outside_operating_zone',
      'doors_open',
    ]);
    // nothing was written: the rental is still active
    expect((await get('support', `/rentals/${rentalId}`)).body).toMatchObject({ rental: { status: 'active' } });

    expectProblem(await get('dispatcher', `/rentals/${rentalId}/end-check`), 403);
    expectProblem(await get(null, `/rentals/${rentalId}/end-check`), 401);
    expectProblem(await get('support', '/rentals/no-such-rental/end-check'), 404, 'rental_not_found');
    expectProblem(await get('support', '/rentals/bad%20id/end-check'), 400);
  });

  it('damage photos: staff only, the stored bytes with their content type, nothing public', async () => {
    const first = await photo('support', `${rentalId}/damage-reports/${reportId}/photos/1`);
    expect(first.status).toBe(200);
    expect(first.type).toBe('image/jpeg');
    expect(first.bytes.equals(JPEG)).toBe(true);
    expect(first.headers.get('cache-control')).toBe('private, no-store');
    expect(first.headers.get('x-content-type-options')).toBe('nosniff');
    const second = await photo('admin', `${rentalId}/damage-reports/${reportId}/photos/2`);
    expect({ status: second.status, type: second.type, same: second.bytes.equals(PNG) }).toEqual({
      status: 200,
      type: 'image/png',
      same: true,
    });

    expect((await photo('dispatcher', `${rentalId}/damage-reports/${reportId}/photos/1`)).status).toBe(403);
    expect((await photo(null, `${rentalId}/damage-reports/${reportId}/photos/1`)).status).toBe(401);
    // the customer's own token is not a staff token either
    const customer = await fetch(`${server.httpUrl}/ops/v1/rentals/${rentalId}/damage-reports/${reportId}/photos/1`, {
      headers: owner.headers,
    });
    expect(customer.status).toBe(401);
    await customer.arrayBuffer();
  });

  it('damage photos: another rental’s report, an index the report does not have and paths leaving the directory are refused', async () => {
    const notFound = async (path: string) => {
      const res = await call(server, 'GET', `/ops/v1/rentals/${path}`, { headers: await as('support') });
      expectProblem(res, 404);
    };
    await notFound(`${rentalId}/damage-reports/${otherReportId}/photos/1`); // the other rental's report under this rental
    await notFound(`${otherRentalId}/damage-reports/${reportId}/photos/1`);
    await notFound(`${rentalId}/damage-reports/${reportId}/photos/3`);
    await notFound(`no-such-rental/damage-reports/${reportId}/photos/1`);

    const refused = async (path: string) => {
      const res: CallResult = await call(server, 'GET', `/ops/v1/rentals/${path}`, { headers: await as('support') });
      expect(res.status, `${path}: ${JSON.stringify(res.body)}`).toBeGreaterThanOrEqual(400);
      expect(res.status).toBeLessThan(500);
      expect(res.contentType).toMatch(/^application\/(problem\+)?json/);
    };
    await refused(`${rentalId}/damage-reports/..%2F..%2F..%2Fetc%2Fpasswd/photos/1`);
    await refused(`${rentalId}/damage-reports/${reportId}/photos/0`);
    await refused(`${rentalId}/damage-reports/${reportId}/photos/1.jpg`);
    await refused(`..%2F${otherRentalId}/damage-reports/${otherReportId}/photos/1`);
    await refused(`${rentalId}/damage-reports/%2e%2e/photos/1`);

    // a row naming a file the store did not write (tampered) is never opened
    await server.db.query(`update damage_reports set photos = jsonb_set(photos, '{0,file}', '"../../../../etc/passwd"') where id = $1`, [
      otherReportId,
    ]);
    await notFound(`${otherRentalId}/damage-reports/${otherReportId}/photos/1`);
  });

  it('ending on the customer’s behalf: blocked without override (409 with the blockers), an override needs a reason', async () => {
    const blocked = await end('support', rentalId, { reason: 'customer cannot close the door' });
    expectProblem(blocked, 409, 'rental_end_blocked');
    expect((blocked.body.blockers as Array<{ code: string }>).map((b) => b.code)).toEqual(['outside_operating_zone', 'doors_open']);
    expectProblem(await end('support', rentalId, { overrideBlockers: true }), 400);
    expectProblem(await end('support', rentalId, { reason: '   ', overrideBlockers: true }), 400);
    expectProblem(await end('dispatcher', rentalId, { reason: 'x', overrideBlockers: true }), 403);
    // the customer tries too
    const own = await call(server, 'POST', `/v1/rentals/${rentalId}/end`, { headers: owner.headers });
    expectProblem(own, 409, 'rental_end_blocked');

    const detail = (await get('support', `/rentals/${rentalId}`)).body as {
      rental: { status: string };
      evidence: { endAttempts: Array<{ at: number; byKind: string; byId: string; blockers: Array<{ code: string }> }> };
    };
    expect(detail.rental.status).toBe('active');
    // the refused ends are the rental's evidence: who, when, what blocked them (bad requests never got that far)
    expect(detail.evidence.endAttempts.map((a) => [a.byKind, a.byId, a.blockers.map((b) => b.code)])).toEqual([
      ['staff', 'test-support', ['outside_operating_zone', 'doors_open']],
      ['customer', owner.customerId, ['outside_operating_zone', 'doors_open']],
    ]);
    expect(detail.evidence.endAttempts[0]!.at).toBeGreaterThan(Date.now() - MIN);
  });

  it('the override is audited in the same transaction as the end: an audit that fails leaves the rental active', async () => {
    await server.db.query(`create function evidence_test_refuse_audit() returns trigger language plpgsql as $$
      begin raise exception 'audit refused by the test'; end $$`);
    await server.db.query(`create trigger evidence_test_refuse_audit before insert on audit_log for each row
      when (new.action = 'rental.ended_override') execute function evidence_test_refuse_audit()`);
    try {
      const failed = await end('support', rentalId, { reason: 'car stuck in a courtyard', overrideBlockers: true });
      expect(failed.status).toBe(500);
      const after = await get('support', `/rentals/${rentalId}`);
      expect(after.body).toMatchObject({ rental: { status: 'active', endedBy: null }, price: null });
    } finally {
      await server.db.query('drop trigger evidence_test_refuse_audit on audit_log');
      await server.db.query('drop function evidence_test_refuse_audit()');
    }

    const ended = await end('support', rentalId, { reason: 'car stuck in a courtyard', overrideBlockers: true });
    expect(ended.status, JSON.stringify(ended.body)).toBe(200);
    expect((ended.body.overriddenBlockers as Array<{ code: string }>).map((b) => b.code)).toEqual(['outside_operating_zone', 'doors_open']);
    const detail = (await get('support', `/rentals/${rentalId}`)).body as {
      rental: { status: string; endReason: string };
      evidence: { audit: Array<{ action: string; actor: string; reason: string; after: { overriddenBlockers: string[] } }> };
    };
    expect(detail.rental).toMatchObject({ status: 'ended', endReason: 'car stuck in a courtyard' });
    expect(detail.evidence.audit.filter((a) => a.action.startsWith('rental.ended'))).toEqual([
      expect.objectContaining({
        action: 'rental.ended_override',
        actor: 'test-support',
        reason: 'car stuck in a courtyard',
        after: expect.objectContaining({ overriddenBlockers: ['outside_operating_zone', 'doors_open'] }),
      }),
    ]);
    // ended: the end check has nothing left to say
    expect((await get('support', `/rentals/${rentalId}/end-check`)).body).toMatchObject({ status: 'ended', blockers: [] });
  });
});
