/**
 * The role table (src/shared/permissions.ts) holds on every path, through the whole server (PGlite always,
 * PostgreSQL when DATABASE_URL is set):
 * - every staff route of the OpenAPI document names a capability of the table and admits exactly its roles
 *   (each route called as each role: 403 `forbidden` exactly when the table says no); every request kind and
 *   every writable sync collection takes its roles from the table too;
 * - the leaks of issue 13 stay closed: support cannot command cars through sync; a request whose creator lost
 *   the role (or was deactivated) before it ran is refused; `expiresAt` is capped; dispatchers get no notes about
 *   customers on the staff API, and no customer ids, names or free text in `rentals`, `requests` or `commands`.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OPERATOR_ROLES } from '../../src/shared/operator-role.js';
import { CAPABILITIES, can, isCapability, rolesWith } from '../../src/shared/permissions.js';
import {
  EDITABLE,
  REQUEST_CAPABILITY,
  REQUEST_CLOCK_SKEW_MS,
  REQUEST_KINDS,
  REQUEST_MAX_LIFETIME_MS,
  SYNC_ACCESS,
  SYNC_CAPABILITY,
  SYNC_COLLECTIONS,
  type CommandDoc,
  type PullResponse,
  type RentalDoc,
  type RequestDoc,
  type SyncCollection,
} from '../../src/shared/sync-protocol.js';
import { startServer, type ServerHandle } from './app.js';
import { signUpCustomer, staffHeaders } from './testing/auth.js';
import { dbBackends } from './testing/backends.js';
import { uniqueTestVehicles } from './testing/devices.js';

const quiet = { port: 0, logLevel: 'silent' as const, seedVehicles: 0, mqttAuth: 'off' as const, mqttUrl: undefined, mqttPort: 0 };
type Role = (typeof OPERATOR_ROLES)[number];
type Json = Record<string, unknown>;
const METHODS = ['get', 'put', 'post', 'delete', 'patch'] as const;

describe('the role table', () => {
  it('gives every request kind and every writable sync collection its roles from a capability', () => {
    for (const kind of REQUEST_KINDS) expect(isCapability(REQUEST_CAPABILITY[kind]), kind).toBe(true);
    for (const c of SYNC_COLLECTIONS) {
      expect([...SYNC_ACCESS[c].read].sort(), `${c} read`).toEqual([...rolesWith(SYNC_CAPABILITY[c].read)].sort());
      const write = SYNC_CAPABILITY[c].write;
      const caps = write === null ? [] : typeof write === 'string' ? [write] : write;
      expect([...SYNC_ACCESS[c].write].sort(), `${c} write`).toEqual([...new Set(caps.flatMap((x) => rolesWith(x)))].sort());
      // a collection with editable fields or creatable documents has a write capability
      if (EDITABLE[c].create || EDITABLE[c].fields.length > 0) expect(caps.length, `${c} is editable`).toBeGreaterThan(0);
    }
    // the rules of issue 13, as the table states them
    expect(can('support', 'vehicle.command')).toBe(false);
    expect(can('dispatcher', 'customer.read')).toBe(false);
    expect(can('dispatcher', 'note.customer')).toBe(false);
    expect(can('system', 'fleet.read')).toBe(false);
    expect(Object.values(CAPABILITIES).every((roles) => roles.includes('admin'))).toBe(true);
  });
});

describe.each(dbBackends())('the role table on every path, on $name', (backend) => {
  let server: ServerHandle;
  let cleanup: () => Promise<void>;
  const vehicles = uniqueTestVehicles(2);
  const [v1, v2] = vehicles.map((v) => v.id) as [string, string];
  let customerId: string;

  beforeAll(async () => {
    const created = await backend.create();
    cleanup = created.cleanup;
    server = await startServer({ ...quiet, ...created.overrides });
    await server.registerVehicles(vehicles);
    customerId = (await signUpCustomer(server, { name: 'Greta Lindqvist' })).customerId;
  });
  afterAll(async () => {
    await server?.stop();
    await cleanup?.();
  });

  async function http<T>(method: string, path: string, body: unknown, role: Role, actor = `${role}-rt`) {
    const res = await fetch(`${server.httpUrl}${path}`, {
      method,
      headers: { ...(await staffHeaders(server, role, actor)), ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await res.text();
    const type = res.headers.get('content-type');
    // JSON (and problem+json) parsed; a file (the audit's CSV export) as its text
    return { status: res.status, type, body: (text ? (/json/.test(type ?? '') ? JSON.parse(text) : text) : undefined) as T };
  }
  async function pullAll<D extends { id: string }>(collection: SyncCollection, role: Role): Promise<Map<string, D>> {
    const docs = new Map<string, D>();
    for (let checkpoint = 0; ;) {
      const res = await http<PullResponse<D>>('GET', `/sync/v1/${collection}/pull?checkpoint=${checkpoint}&limit=1000`, undefined, role);
      expect(res.status).toBe(200);
      for (const d of res.body.documents) docs.set(d.id, d);
      if (res.body.checkpoint.seq === checkpoint) return docs;
      checkpoint = res.body.checkpoint.seq;
    }
  }
  const request = (over: Partial<RequestDoc>): RequestDoc => ({
    id: 'rq',
    updatedAt: 0,
    kind: 'vehicle_command',
    payload: { vehicleId: v1, type: 'lock', reason: 'left open', ttlSeconds: 120 },
    createdBy: 'x',
    createdAt: Date.now(),
    expiresAt: Date.now() + 60_000,
    status: 'pending',
    result: null,
    ...over,
  });

  it('every staff route names a capability of the table and admits exactly its roles (each route called as each role)', async () => {
    const doc = (await (await fetch(`${server.httpUrl}/openapi.json`)).json()) as { paths: Record<string, Json> };
    const staffOps: Array<{ method: string; path: string; capability: string }> = [];
    for (const [path, item] of Object.entries(doc.paths)) {
      for (const method of METHODS) {
        const op = item[method] as Json | undefined;
        if (!op) continue;
        const security = op.security as Array<Json> | undefined;
        if (!security?.some((s) => 'staffBearer' in s)) continue;
        const capability = op['x-capability'];
        expect(isCapability(capability), `${method} ${path} names a capability of the table`).toBe(true);
        expect(op['x-staff-roles'], `${method} ${path}`).toEqual([...rolesWith(capability as never)]);
        staffOps.push({ method, path, capability: capability as string });
      }
    }
    // the staff API is documented (not an empty walk), and the old leak is among what is walked
    expect(staffOps.length).toBeGreaterThan(30);
    expect(staffOps).toContainEqual({ method: 'post', path: '/ops/v1/vehicles/{vehicleId}/commands', capability: 'vehicle.command' });
    for (const { method, path, capability } of staffOps) {
      if (path.startsWith('/sync/')) continue; // streams stay open; sync reads are checked below
      const url = path.replace(/\{[^}]+\}/g, 'no-such-id');
      for (const role of OPERATOR_ROLES) {
        // the hook answers before the body is read: an empty body is enough to see the verdict
        const res = await http<Json>(method.toUpperCase(), url, method === 'get' || method === 'delete' ? undefined : {}, role);
        if (can(role, capability as never)) expect(res.status, `${role} ${method} ${path}`).not.toBe(403);
        else {
          expect(res.status, `${role} ${method} ${path}`).toBe(403);
          expect(res.body).toMatchObject({ code: 'forbidden' });
        }
      }
    }
    for (const c of SYNC_COLLECTIONS)
      for (const role of OPERATOR_ROLES) {
        const res = await http('GET', `/sync/v1/${c}/pull?checkpoint=0&limit=1`, undefined, role);
        expect(res.status, `${role} pulls ${c}`).toBe(SYNC_ACCESS[c].read.includes(role) ? 200 : 403);
      }
  });

  it('support cannot command cars through sync: refused with the reason, nothing stored or issued', async () => {
    const res = await http<RequestDoc[]>(
      'POST',
      '/sync/v1/requests/push',
      [{ newDocumentState: request({ id: 'rq-sup-cmd' }) }],
      'support',
    );
    expect(res.status).toBe(200);
    expect(res.body[0]).toMatchObject({ id: 'rq-sup-cmd', _deleted: true, syncRejection: { code: 'forbidden_role' } });
    expect(res.body[0]!.syncRejection!.message).toContain('vehicle_command');
    expect((await server.db.query(`select 1 from sync_requests where id = 'rq-sup-cmd'`)).rows).toEqual([]);
    expect((await server.db.query(`select 1 from commands where vehicle_id = $1`, [v1])).rows).toEqual([]);
    // the staff API agrees
    const api = await http('POST', `/ops/v1/vehicles/${v1}/commands`, { type: 'lock', reason: 'x', ttlSeconds: 60 }, 'support');
    expect(api.status).toBe(403);
  });

  it('a request whose creator lost the role, or was deactivated, before it ran is refused and does nothing', async () => {
    // two requests a crash left pending (stored, not yet run), written by dispatchers
    const pending = async (id: string, creator: string) => {
      await staffHeaders(server, 'dispatcher', creator);
      await server.db.transaction(async (tx) => {
        await tx.query(
          `insert into sync_requests (id, kind, payload, created_by, created_role, created_at, expires_at, status, result, server_seq)
           values ($1, 'vehicle_command', $2::jsonb, $3, 'dispatcher', now(), now() + interval '10 minutes', 'pending', null, fleetdesk_next_seq())`,
          [id, JSON.stringify({ vehicleId: v2, type: 'lock', reason: 'left open', ttlSeconds: 120 }), creator],
        );
      });
    };
    await pending('rq-moved', 'dora');
    await pending('rq-left', 'dirk');
    // an admin moves dora to support and deactivates dirk
    expect((await http('PATCH', '/ops/v1/staff/dora', { role: 'support' }, 'admin')).status).toBe(200);
    expect((await http('PATCH', '/ops/v1/staff/dirk', { active: false }, 'admin')).status).toBe(200);
    // the retry (the desktop pushing the same document again, here by an active dispatcher) runs them as their creators
    for (const id of ['rq-moved', 'rq-left']) {
      const master = (await pullAll<RequestDoc>('requests', 'dispatcher')).get(id)!;
      expect(
        (await http('POST', '/sync/v1/requests/push', [{ newDocumentState: master, assumedMasterState: master }], 'dispatcher')).body,
      ).toEqual([]);
    }
    const docs = await pullAll<RequestDoc>('requests', 'admin');
    expect(docs.get('rq-moved')).toMatchObject({ status: 'rejected', result: { code: 'creator_lost_role' } });
    expect(docs.get('rq-left')).toMatchObject({ status: 'rejected', result: { code: 'creator_inactive' } });
    expect((await server.db.query(`select 1 from commands where vehicle_id = $1`, [v2])).rows).toEqual([]);
  });

  it('a push is judged by the role the account has now, not the one in a still-valid access token', async () => {
    const vehicle = (await pullAll<{ id: string; serviceState: string }>('vehicles', 'dispatcher')).get(v2)!;
    const toMaintenance = [{ assumedMasterState: vehicle, newDocumentState: { ...vehicle, serviceState: 'maintenance' } }];
    await staffHeaders(server, 'dispatcher', 'dana'); // signed in as a dispatcher: the token says so for 15 min
    expect((await http('PATCH', '/ops/v1/staff/dana', { role: 'support' }, 'admin')).status).toBe(200);
    const moved = await http<Array<{ syncRejection?: { code: string } }>>(
      'POST',
      '/sync/v1/vehicles/push',
      toMaintenance,
      'dispatcher',
      'dana',
    );
    expect(moved.body[0]).toMatchObject({ syncRejection: { code: 'forbidden_role' } });
    await staffHeaders(server, 'dispatcher', 'dino');
    expect((await http('PATCH', '/ops/v1/staff/dino', { active: false }, 'admin')).status).toBe(200);
    const gone = await http<Array<{ syncRejection?: { code: string } }>>(
      'POST',
      '/sync/v1/vehicles/push',
      toMaintenance,
      'dispatcher',
      'dino',
    );
    expect(gone.body[0]).toMatchObject({ syncRejection: { code: 'account_inactive' } });
    expect((await pullAll<{ id: string; serviceState: string }>('vehicles', 'admin')).get(v2)?.serviceState).toBe('available');
  });

  it(`caps expiresAt at ${REQUEST_MAX_LIFETIME_MS / 3_600_000} h: a later one is refused with the reason, nothing stored`, async () => {
    const far = request({ id: 'rq-far', expiresAt: Date.now() + REQUEST_MAX_LIFETIME_MS + REQUEST_CLOCK_SKEW_MS + 60_000 });
    const res = await http<RequestDoc[]>('POST', '/sync/v1/requests/push', [{ newDocumentState: far }], 'dispatcher');
    expect(res.body[0]).toMatchObject({ id: 'rq-far', syncRejection: { code: 'expires_too_late' } });
    expect((await server.db.query(`select 1 from sync_requests where id = 'rq-far'`)).rows).toEqual([]);
    const near = request({ id: 'rq-near', expiresAt: Date.now() + REQUEST_MAX_LIFETIME_MS - 60_000 });
    expect((await http('POST', '/sync/v1/requests/push', [{ newDocumentState: near }], 'dispatcher')).body).toEqual([]);
  });

  it('dispatchers get no notes about customers on the staff API (403 problem), support and admin do', async () => {
    const note = { targetType: 'customer', targetId: customerId, text: 'asked for a call back' };
    const denied = await http<Json>('POST', '/ops/v1/notes', note, 'dispatcher');
    expect(denied.status).toBe(403);
    expect(denied.type).toMatch(/^application\/problem\+json/);
    expect(denied.body).toMatchObject({ code: 'forbidden' });
    expect((await http('POST', '/ops/v1/notes', note, 'support')).status).toBe(201);
    const list = `/ops/v1/notes?targetType=customer&targetId=${customerId}`;
    expect((await http('GET', list, undefined, 'dispatcher')).status).toBe(403);
    expect((await http<{ notes: unknown[] }>('GET', list, undefined, 'support')).body.notes).toHaveLength(1);
    expect((await http<{ notes: unknown[] }>('GET', list, undefined, 'admin')).body.notes).toHaveLength(1);
    // notes about cars stay open to everyone
    expect((await http('POST', '/ops/v1/notes', { targetType: 'vehicle', targetId: v1, text: 'scratch' }, 'dispatcher')).status).toBe(201);
  });

  it('dispatchers receive rentals, requests and commands without customer ids, names or free text about customers', async () => {
    await server.db.transaction(async (tx) => {
      await tx.query(
        `insert into allocations (id, kind, vehicle_id, customer_id, status, period, started_at, ended_at, end_reason, ended_by, server_seq)
         values ('rt-greta', 'rental', $1, $2, 'ended', '[2030-03-01 08:00:00+00,2030-03-01 08:42:00+00)'::tstzrange,
                 '2030-03-01T08:00:00Z', '2030-03-01T08:42:00Z', 'Greta says the car smelled of smoke', $2, fleetdesk_next_seq())`,
        [v1, customerId],
      );
    });
    const cmd = await server.commands.issueCommand({
      vehicleId: v1,
      type: 'unlock',
      reason: `rental rt-greta start (booking bk-9, customer ${customerId})`,
      ttlSeconds: 60,
      actor: { id: `customer:${customerId}`, role: 'system' },
    });
    const refund = request({
      id: 'rq-refund-greta',
      kind: 'refund',
      payload: { rentalId: 'rt-greta', amountCents: 100, currency: 'EUR', reason: 'Greta was overcharged' },
    });
    await http('POST', '/sync/v1/requests/push', [{ newDocumentState: refund }], 'support');

    // support sees it all
    expect((await pullAll<RentalDoc>('rentals', 'support')).get('rt-greta')).toMatchObject({
      customerId,
      endReason: 'Greta says the car smelled of smoke',
    });
    expect((await pullAll<RequestDoc>('requests', 'support')).has('rq-refund-greta')).toBe(true);
    expect((await pullAll<CommandDoc>('commands', 'support')).get(cmd.command.commandId)?.issuedBy).toBe(`customer:${customerId}`);

    // the dispatcher: the rental without its customer, no support requests, commands without the customer's id
    const rental = (await pullAll<RentalDoc>('rentals', 'dispatcher')).get('rt-greta')!;
    expect(rental).toMatchObject({ vehicleId: v1, status: 'ended', customerId: '', endReason: null, endedBy: null, cancelReason: null });
    expect((await pullAll<RequestDoc>('requests', 'dispatcher')).has('rq-refund-greta')).toBe(false);
    const command = (await pullAll<CommandDoc>('commands', 'dispatcher')).get(cmd.command.commandId)!;
    expect(command).toMatchObject({ issuedBy: 'customer', type: 'unlock', reason: 'rental rt-greta start (booking bk-9, a customer)' });
    // the staff API's command routes apply the same rule
    const one = await http<{ issuedBy: string; reason: string }>(
      'GET',
      `/ops/v1/commands/${cmd.command.commandId}`,
      undefined,
      'dispatcher',
    );
    expect(one.body).toMatchObject({ issuedBy: 'customer', reason: 'rental rt-greta start (booking bk-9, a customer)' });
    const list = await http<{ commands: unknown[] }>('GET', `/ops/v1/vehicles/${v1}/commands`, undefined, 'dispatcher');
    expect(JSON.stringify(list.body.commands)).not.toContain(customerId);
    const forSupport = await http<{ issuedBy: string }>('GET', `/ops/v1/commands/${cmd.command.commandId}`, undefined, 'support');
    expect(forSupport.body.issuedBy).toBe(`customer:${customerId}`);
    // nothing the dispatcher receives holds the customer's id or name
    for (const c of ['rentals', 'requests', 'commands', 'notes'] as const) {
      const text = JSON.stringify([...(await pullAll(c, 'dispatcher')).values()]);
      expect(text, c).not.toContain(customerId);
      expect(text, c).not.toContain('Greta');
    }
    // a refusal answers with what the role may see: pushing over the support request's id shows nothing of it
    const probe = await http<RequestDoc[]>(
      'POST',
      '/sync/v1/requests/push',
      [{ newDocumentState: request({ id: 'rq-refund-greta' }) }],
      'dispatcher',
    );
    expect(JSON.stringify(probe.body)).not.toContain('Greta');
    expect(probe.body[0]).toMatchObject({ id: 'rq-refund-greta', _deleted: true, syncRejection: { code: expect.any(String) } });
  });
});
