/**
 * The command lifecycle end to end, in process: a real server (PGlite or PostgreSQL; embedded Aedes or
 * MQTT_URL), a fake device (mqtt.js) that answers per the protocol, and the staff API.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeDeviceCommand, deviceTopic } from '../../../../src/shared/device-protocol.js';
import type { VehicleInfo } from '../../../../src/shared/fleet.js';
import type { CommandDoc, PullResponse } from '../../../../src/shared/sync-protocol.js';
import { startServer, type ServerHandle } from '../../app.js';
import type { DomainEventMap } from '../../platform/domain-events.js';
import { brokerBackends, dbBackends } from '../../testing/backends.js';
import { staffHeaders } from '../../testing/auth.js';
import { connectCommandDevice, spyTopic, type CommandDevice, type CommandDeviceOptions } from '../../testing/command-device.js';
import { uniqueTestVehicles, waitFor } from '../../testing/devices.js';
import { metricValue } from '../../testing/metrics.js';

const cases = dbBackends().flatMap((db) => brokerBackends().map((broker) => ({ db, broker, name: `${db.name} + ${broker.name} broker` })));

interface CommandJson {
  commandId: string;
  vehicleId: string;
  type: string;
  status: string;
  reason: string;
  issuedBy: string;
  issuedByRole: string;
  createdAt: number;
  expiresAt: number;
  sentAt: number | null;
  receivedAt: number | null;
  finishedAt: number | null;
  lastResultReason: string | null;
  resultData: Record<string, unknown> | null;
  sendAttempts: number;
  transitions: Array<{ from: string | null; to: string; at: number; detail: string | null }>;
}

const DROPPED = 'fleetdesk_command_results_dropped_total';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe.each(cases)('command lifecycle on $name', ({ db, broker }) => {
  let server: ServerHandle;
  let cleanupDb: () => Promise<void>;
  let vehicles: VehicleInfo[];
  const devices: CommandDevice[] = [];
  const spies: Array<{ close(): Promise<void> }> = [];
  const transitions: Array<DomainEventMap['command.transition']> = [];

  beforeAll(async () => {
    const created = await db.create();
    cleanupDb = created.cleanup;
    server = await startServer({
      ...created.overrides,
      ...broker.overrides,
      port: 0,
      seedVehicles: 0,
      logLevel: 'silent',
      mqttAuth: 'off',
      commandResendMs: 300,
      commandResultGraceMs: 1_000,
    });
    server.events.on('command.transition', (e) => transitions.push(e));
    vehicles = uniqueTestVehicles(12);
    await server.registerVehicles(vehicles);
  });

  afterAll(async () => {
    await Promise.all(spies.map((s) => s.close().catch(() => undefined)));
    await Promise.all(devices.map((d) => d.close().catch(() => undefined)));
    await server?.stop();
    await cleanupDb?.();
  });

  async function device(vehicleId: string, options: CommandDeviceOptions = {}): Promise<CommandDevice> {
    const d = await connectCommandDevice(server.mqttUrl, vehicleId, options);
    devices.push(d);
    return d;
  }

  async function spy(vehicleId: string) {
    const s = await spyTopic(server.mqttUrl, deviceTopic(vehicleId, 'commands'));
    spies.push(s);
    return s;
  }

  async function online(vehicleId: string): Promise<void> {
    // ingestion announces it; the dispatcher hears the same event
    await waitFor(() => isOnline(vehicleId), { what: `${vehicleId} online` });
  }

  async function isOnline(vehicleId: string): Promise<boolean> {
    await server.flushIngestion();
    const res = await fetch(`${server.httpUrl}/ops/v1/fleet/live`, { headers: await dispatcher() });
    const body = (await res.json()) as { vehicles: Array<{ id: string; online: boolean }> };
    return body.vehicles.some((v) => v.id === vehicleId && v.online) || onlineEvents.has(vehicleId);
  }
  const onlineEvents = new Set<string>();
  beforeAll(() => {
    server.events.on('vehicle.online', (e) => (e.online ? onlineEvents.add(e.vehicleId) : onlineEvents.delete(e.vehicleId)));
  });

  /** a signed-in dispatcher (staff token), the default caller of these routes */
  const dispatcher = () => staffHeaders(server, 'dispatcher');
  const getAs = async (path: string, headers?: Record<string, string>) =>
    fetch(`${server.httpUrl}${path}`, { headers: headers ?? (await dispatcher()) });

  async function post(path: string, body: unknown, headers?: Record<string, string>) {
    const res = await fetch(`${server.httpUrl}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(headers ?? (await dispatcher())) },
      body: JSON.stringify(body),
    });
    return {
      status: res.status,
      type: res.headers.get('content-type'),
      location: res.headers.get('location'),
      body: (await res.json()) as Record<string, unknown>,
    };
  }

  async function issue(vehicleId: string, body: Record<string, unknown> = {}, headers?: Record<string, string>) {
    const res = await post(
      `/ops/v1/vehicles/${vehicleId}/commands`,
      { type: 'unlock', reason: 'customer locked out', ttlSeconds: 60, ...body },
      headers,
    );
    expect(res.status, JSON.stringify(res.body)).toBe(202);
    return res.body as { commandId: string; status: string; expiresAt: number };
  }

  async function get(commandId: string): Promise<CommandJson> {
    const res = await getAs(`/ops/v1/commands/${commandId}`);
    expect(res.status).toBe(200);
    return (await res.json()) as CommandJson;
  }

  async function until(commandId: string, status: string, timeoutMs = 10_000): Promise<CommandJson> {
    return waitFor(
      async () => {
        const c = await get(commandId);
        return c.status === status ? c : undefined;
      },
      { what: `${commandId} ${status}`, timeoutMs },
    );
  }

  const path = (c: CommandJson) => c.transitions.map((t) => `${t.from ?? '∅'}→${t.to}`);

  /** the command as the desk's replica gets it: the sync pull of `commands`, as a dispatcher */
  async function replicated(commandId: string): Promise<CommandDoc | undefined> {
    let checkpoint = 0;
    for (;;) {
      const res = await getAs(`/sync/v1/commands/pull?checkpoint=${checkpoint}&limit=500`);
      expect(res.status).toBe(200);
      const page = (await res.json()) as PullResponse<CommandDoc>;
      const doc = page.documents.find((d) => d.id === commandId);
      if (doc) return doc;
      if (page.documents.length < 500) return undefined;
      checkpoint = page.checkpoint.seq;
    }
  }

  it('queued → sent → received → succeeded, with every transition stored, audited and announced', async () => {
    const v = vehicles[0]!.id;
    const d = await device(v);
    await online(v);
    const res = await post(
      `/ops/v1/vehicles/${v}/commands`,
      { type: 'locate', reason: 'where is it?', ttlSeconds: 60 },
      await staffHeaders(server, 'admin', 'alice'),
    );
    expect(res.status).toBe(202);
    const { commandId, expiresAt } = res.body as { commandId: string; expiresAt: number };
    expect(commandId).toMatch(/^[0-9a-f-]{36}$/);
    expect(res.location).toBe(`/ops/v1/commands/${commandId}`);

    const done = await until(commandId, 'succeeded');
    expect(path(done)).toEqual(['∅→queued', 'queued→sent', 'sent→received', 'received→succeeded']);
    expect(done).toMatchObject({
      vehicleId: v,
      type: 'locate',
      reason: 'where is it?',
      issuedBy: 'alice',
      issuedByRole: 'admin',
      expiresAt,
      resultData: { lat: 52.5, lon: 13.4 },
    });
    expect(done.expiresAt - done.createdAt).toBe(60_000);
    expect(done.sentAt).toBeGreaterThanOrEqual(done.createdAt);
    expect(done.receivedAt).toBeGreaterThanOrEqual(done.sentAt!);
    expect(done.finishedAt).toBeGreaterThanOrEqual(done.receivedAt!);
    // the replica's document carries the same transitions and the issuer's name (the desk follows it from there)
    expect(await replicated(commandId)).toMatchObject({
      status: 'succeeded',
      issuedBy: 'alice',
      issuedByName: 'Test admin alice',
      transitions: done.transitions.map((t) => ({ to: t.to, at: t.at, detail: t.detail, by: null })),
    });

    // what the device got: valid per the shared schema, with the stored times
    expect(d.deliveries.length).toBeGreaterThanOrEqual(1);
    const delivered = d.deliveries[0]!;
    expect(decodeDeviceCommand(JSON.stringify(delivered)).ok).toBe(true);
    expect(delivered).toMatchObject({ v: 1, commandId, type: 'locate', issuedAt: done.createdAt, expiresAt });

    const audit = await getAs(`/ops/v1/audit?targetType=command&targetId=${commandId}`, await staffHeaders(server, 'support'));
    const entries = (
      (await audit.json()) as {
        entries: Array<{ action: string; actor: string; role: string; reason: string | null; before: unknown; after: unknown }>;
      }
    ).entries;
    expect(entries.map((e) => e.action).reverse()).toEqual(['command.issued', 'command.sent', 'command.received', 'command.succeeded']);
    expect(entries.at(-1)).toMatchObject({ actor: 'alice', role: 'admin', reason: 'where is it?', before: null });
    expect(entries[0]).toMatchObject({ actor: v, role: 'device', before: { status: 'received' }, after: { status: 'succeeded' } });

    expect(transitions.filter((t) => t.commandId === commandId).map((t) => t.to)).toEqual(['queued', 'sent', 'received', 'succeeded']);
    expect(await server.commands.waitForTerminal(commandId, 1_000)).toMatchObject({ status: 'succeeded' });
    expect(await metricValue(server.metrics, 'fleetdesk_commands_finished_total', { status: 'succeeded' })).toBeGreaterThanOrEqual(1);
  });

  it('records a failure with the device reason', async () => {
    const v = vehicles[1]!.id;
    await device(v, { behaviour: 'fail' });
    await online(v);
    const { commandId } = await issue(v, { type: 'lock' });
    const c = await until(commandId, 'failed');
    expect(c.lastResultReason).toBe('door jammed');
    expect(path(c)).toEqual(['∅→queued', 'queued→sent', 'sent→received', 'received→failed']);
  });

  it('keeps a command to an offline car queued and delivers it when the car comes online', async () => {
    const v = vehicles[2]!.id;
    const watch = await spy(v);
    const { commandId, status } = await issue(v, { type: 'honk_flash', params: { times: 3 } });
    expect(status).toBe('queued');
    await sleep(1_500); // several dispatch ticks
    expect((await get(commandId)).status).toBe('queued');
    expect(watch.messages).toEqual([]);

    const waiting = server.commands.waitForTerminal(commandId, 15_000);
    const d = await device(v);
    const c = await until(commandId, 'succeeded');
    expect(path(c)).toEqual(['∅→queued', 'queued→sent', 'sent→received', 'received→succeeded']);
    expect(d.deliveries[0]).toMatchObject({ commandId, params: { times: 3 } });
    expect(await waiting).toMatchObject({ commandId, status: 'succeeded' });
  });

  it('expires a command while the car is offline; the car never receives it', async () => {
    const v = vehicles[3]!.id;
    const watch = await spy(v);
    const { commandId } = await issue(v, { ttlSeconds: 5 });
    const c = await until(commandId, 'expired', 10_000);
    expect(path(c)).toEqual(['∅→queued', 'queued→expired']);
    expect(c.sendAttempts).toBe(0);
    const d = await device(v);
    await online(v);
    await sleep(1_500);
    expect(watch.messages).toEqual([]);
    expect(d.deliveries).toEqual([]);
    expect((await get(commandId)).status).toBe('expired');
  });

  it('moves a command the device rejects as expired to expired, with the reason', async () => {
    const v = vehicles[4]!.id;
    await device(v, { behaviour: 'reject-expired' });
    await online(v);
    const { commandId } = await issue(v);
    const c = await until(commandId, 'expired');
    expect(path(c)).toEqual(['∅→queued', 'queued→sent', 'sent→expired']);
    expect(c.lastResultReason).toBe('expired by the device clock');
  });

  it('expires a received command whose result never comes', async () => {
    const v = vehicles[5]!.id;
    await device(v, { behaviour: 'ack-only' });
    await online(v);
    const { commandId } = await issue(v, { ttlSeconds: 5 });
    await until(commandId, 'received');
    const c = await until(commandId, 'expired', 12_000);
    expect(path(c)).toEqual(['∅→queued', 'queued→sent', 'sent→received', 'received→expired']);
    expect(c.finishedAt! - c.expiresAt).toBeGreaterThanOrEqual(1_000); // the result grace period
  });

  it('resends a sent command the device did not acknowledge', async () => {
    const v = vehicles[6]!.id;
    const d = await device(v, { ignoreFirstDeliveries: 2 });
    await online(v);
    const { commandId } = await issue(v);
    const c = await until(commandId, 'succeeded');
    expect(c.sendAttempts).toBeGreaterThanOrEqual(3);
    expect(d.deliveries.filter((x) => x.commandId === commandId).length).toBeGreaterThanOrEqual(3);
    expect(path(c)).toEqual(['∅→queued', 'queued→sent', 'sent→received', 'received→succeeded']);
  });

  it('is idempotent by command id', async () => {
    const v = vehicles[7]!.id;
    const commandId = `idem-${Date.now()}`;
    const first = await issue(v, { commandId });
    const again = await issue(v, { commandId });
    expect(again).toEqual(first);
    const list = await getAs(`/ops/v1/vehicles/${v}/commands`);
    expect(((await list.json()) as { commands: CommandJson[] }).commands.map((c) => c.commandId)).toEqual([commandId]);

    const conflict = await post(`/ops/v1/vehicles/${v}/commands`, {
      type: 'lock',
      reason: 'customer locked out',
      ttlSeconds: 60,
      commandId,
    });
    expect(conflict.status).toBe(409);
    expect(conflict.type).toMatch(/^application\/problem\+json/);
    expect(conflict.body).toMatchObject({ code: 'command_id_conflict', type: 'urn:fleetdesk:problem:command_id_conflict' });
    expect(path(await get(commandId))).toEqual(['∅→queued']);
  });

  it('cancels a queued command, which is then never sent', async () => {
    const v = vehicles[8]!.id;
    const watch = await spy(v);
    const { commandId } = await issue(v);
    expect((await post(`/ops/v1/commands/${commandId}/cancel`, {})).status).toBe(400);
    const cancelled = await post(
      `/ops/v1/commands/${commandId}/cancel`,
      { reason: 'issued by mistake' },
      await staffHeaders(server, 'dispatcher', 'bob'),
    );
    expect(cancelled.status).toBe(200);
    expect(cancelled.body).toMatchObject({ commandId, status: 'cancelled' });
    const again = await post(`/ops/v1/commands/${commandId}/cancel`, { reason: 'twice' });
    expect(again.status).toBe(409);
    expect(again.body).toMatchObject({ code: 'command_not_cancellable' });

    await device(v);
    await online(v);
    await sleep(1_000);
    expect(watch.messages).toEqual([]);
    const c = await get(commandId);
    expect(path(c)).toEqual(['∅→queued', 'queued→cancelled']);
    // in the replica: the cancellation's reason and who cancelled it (a name, from the audit entry)
    expect((await replicated(commandId))?.transitions).toEqual([
      { to: 'queued', at: c.createdAt, detail: null, by: null },
      { to: 'cancelled', at: c.finishedAt, detail: 'issued by mistake', by: 'Test dispatcher bob' },
    ]);
    const audit = await getAs(`/ops/v1/audit?targetType=command&targetId=${commandId}&limit=1`, await staffHeaders(server, 'support'));
    expect(((await audit.json()) as { entries: unknown[] }).entries).toEqual([
      expect.objectContaining({ action: 'command.cancelled', actor: 'bob', reason: 'issued by mistake' }),
    ]);
  });

  it('answers bad input with 4xx problem+json', async () => {
    const v = vehicles[9]!.id;
    const base = { type: 'lock', reason: 'r', ttlSeconds: 60 };
    const bad: Array<[string, unknown, number, string?, Record<string, string>?]> = [
      [`/ops/v1/vehicles/no-such-car/commands`, base, 404, 'vehicle_not_found'],
      [`/ops/v1/vehicles/${v}/commands`, { ...base, type: 'self_destruct' }, 400, 'validation'],
      [`/ops/v1/vehicles/${v}/commands`, { ...base, ttlSeconds: 4 }, 400, 'validation'],
      [`/ops/v1/vehicles/${v}/commands`, { ...base, ttlSeconds: 86_401 }, 400, 'validation'],
      [`/ops/v1/vehicles/${v}/commands`, { ...base, ttlSeconds: 10.5 }, 400, 'validation'],
      [`/ops/v1/vehicles/${v}/commands`, { type: 'lock', ttlSeconds: 60 }, 400, 'validation'],
      [`/ops/v1/vehicles/${v}/commands`, { ...base, reason: '   ' }, 400, 'validation'],
      [`/ops/v1/vehicles/${v}/commands`, { ...base, reason: 'x'.repeat(501) }, 400, 'validation'],
      [`/ops/v1/vehicles/${v}/commands`, { ...base, commandId: 'short' }, 400, 'validation'],
      [`/ops/v1/vehicles/${v}/commands`, { ...base, params: { nested: { a: 1 } } }, 400, 'validation'],
      [`/ops/v1/vehicles/${v}/commands`, { ...base, extra: true }, 400, 'validation'],
      // support agents may not command cars; no token at all is 401
      [`/ops/v1/vehicles/${v}/commands`, base, 403, 'forbidden', await staffHeaders(server, 'support')],
      [`/ops/v1/vehicles/${v}/commands`, base, 401, 'unauthorized', {}],
      [`/ops/v1/vehicles/bad%2Fid/commands`, base, 400, 'validation'],
      [`/ops/v1/commands/no-such-command/cancel`, { reason: 'x' }, 404, 'command_not_found'],
    ];
    for (const [p, body, status, code, headers] of bad) {
      const res = await post(p, body, headers);
      expect(res.status, `${p} ${JSON.stringify(body)}`).toBe(status);
      expect(res.type).toMatch(/^application\/problem\+json/);
      if (code) expect(res.body.code, `${p} ${JSON.stringify(body)}`).toBe(code);
    }
    const missing = await getAs(`/ops/v1/commands/no-such-command`);
    expect(missing.status).toBe(404);
    expect(((await missing.json()) as { code: string }).code).toBe('command_not_found');
    expect(((await (await getAs(`/ops/v1/vehicles/${v}/commands`)).json()) as { commands: unknown[] }).commands).toEqual([]);
    // in-process callers (rentals) get the same rules
    await expect(
      server.commands.issueCommand({ vehicleId: v, type: 'lock', reason: '', ttlSeconds: 60, actor: { id: 'system', role: 'system' } }),
    ).rejects.toMatchObject({ code: 'invalid_command', status: 400 });
  });

  it('drops and counts results for unknown commands, other vehicles, bad payloads and finished commands', async () => {
    const v = vehicles[10]!.id;
    const other = vehicles[11]!.id;
    const d = await device(v);
    const intruder = await device(other, { behaviour: 'ignore' });
    await online(v);
    const { commandId } = await issue(v);
    const before = await until(commandId, 'succeeded');
    const count = (reason: string) => metricValue(server.metrics, DROPPED, { reason });
    const was = {
      unknown: await count('unknown_command'),
      wrong: await count('wrong_vehicle'),
      after: await count('after_terminal'),
      schema: await count('schema'),
      json: await count('not_json'),
      dup: await count('duplicate'),
    };

    await d.answer('no-such-command-123', 'succeeded');
    await intruder.answer(commandId, 'failed', 'not mine'); // on its own topic, for v's command
    await d.answer(commandId, 'failed', 'too late');
    await d.answer(commandId, 'succeeded'); // repeat
    await d.publishRawResult('{"commandId":');
    await d.publishRawResult(JSON.stringify({ commandId, status: 'exploded', ts: 1 }));

    await waitFor(
      async () =>
        (await count('schema')) > was.schema && (await count('not_json')) > was.json && (await count('after_terminal')) > was.after,
      { what: 'drops counted' },
    );
    await server.commands.settle();
    expect(await count('unknown_command')).toBe(was.unknown + 1);
    expect(await count('wrong_vehicle')).toBe(was.wrong + 1);
    expect(await count('after_terminal')).toBe(was.after + 1);
    expect(await count('duplicate')).toBe(was.dup + 1);
    const after = await get(commandId);
    expect(after.status).toBe('succeeded');
    expect(after.transitions).toEqual(before.transitions);
    expect((await fetch(`${server.httpUrl}/health`)).status).toBe(200);
  });
});
