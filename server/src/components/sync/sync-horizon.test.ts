/**
 * The replica's history horizon (SYNC_HISTORY_DAYS, migration 032) through the whole server (PGlite always,
 * PostgreSQL when DATABASE_URL is set): closed allocations and tasks untouched for longer leave the replica — a
 * first sync never receives them, a desk that held one receives a deletion by pull and by stream, a later change
 * brings it back —, everything open stays however old, a client starting from nothing is not sent the deletions
 * of documents it never held, the tombstone purge leaves retired rows alone, and (PostgreSQL) a retirement never
 * lets a client skip a row that commits late.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PullResponse, RentalDoc, SyncCollection, TaskDoc } from '../../../../src/shared/sync-protocol.js';
import { startServer, type ServerHandle } from '../../app.js';
import { signUpCustomer, staffHeaders } from '../../testing/auth.js';
import { dbBackends, type DbBackendCase } from '../../testing/backends.js';
import { uniqueTestVehicles } from '../../testing/devices.js';
import { openStream } from './sync.test-helpers.js';

const quiet = { port: 0, logLevel: 'silent' as const, seedVehicles: 0, mqttAuth: 'off' as const, mqttUrl: undefined, mqttPort: 0 };
type Role = 'dispatcher' | 'support' | 'admin';
type Doc = { id: string; _deleted?: boolean };

const DAY = 86_400_000;

/** A server on `backend` with `count` cars and one signed-up customer for the tests of a describe (stopped after it). */
function horizonServer(backend: DbBackendCase, count: number, name: string) {
  const f = { server: undefined as unknown as ServerHandle, customerId: '', vehicles: uniqueTestVehicles(count) };
  let cleanup: (() => Promise<void>) | undefined;
  beforeAll(async () => {
    const created = await backend.create();
    cleanup = created.cleanup;
    f.server = await startServer({ ...quiet, ...created.overrides });
    await f.server.registerVehicles(f.vehicles);
    f.customerId = (await signUpCustomer(f.server, { name })).customerId;
  });
  afterAll(async () => {
    await f.server?.stop();
    await cleanup?.();
  });
  return f;
}
const iso = (t: number) => new Date(t).toISOString();

describe.each(dbBackends())('sync history horizon on $name', (backend) => {
  const f = horizonServer(backend, 8, 'Horizon Tester');
  const v = f.vehicles.map((x) => x.id);
  const now = Date.now();

  async function pull<D extends Doc>(c: SyncCollection, checkpoint: number, limit = 1000, role: Role = 'support', floor?: number) {
    const res = await fetch(
      `${f.server.httpUrl}/sync/v1/${c}/pull?checkpoint=${checkpoint}&limit=${limit}${floor === undefined ? '' : `&floor=${floor}`}`,
      { headers: await staffHeaders(f.server, role, `${role}-1`) },
    );
    expect(res.status).toBe(200);
    return (await res.json()) as PullResponse<D>;
  }

  /** Everything after `from`, page by page, as a client would (passing the first answer's floor when from 0). */
  async function pullAll<D extends Doc>(c: SyncCollection, from = 0, limit = 1000, role: Role = 'support', useFloor = true) {
    const docs = new Map<string, D>();
    const seen: D[] = [];
    let checkpoint = from;
    let floor: number | undefined;
    let first: PullResponse<D> | undefined;
    for (;;) {
      const page = await pull<D>(c, checkpoint, limit, role, useFloor ? floor : undefined);
      first ??= page;
      floor ??= page.floor;
      for (const d of page.documents) {
        docs.set(d.id, d);
        seen.push(d);
      }
      if (page.documents.length === 0 && page.checkpoint.seq === checkpoint) return { docs, seen, checkpoint, first };
      checkpoint = page.checkpoint.seq;
    }
  }

  /** An allocation written the way the bookings repositories write one (a fresh server_seq), closed or open `daysAgo`. */
  async function allocation(id: string, vehicleId: string, status: 'active' | 'ended' | 'cancelled', daysAgo: number): Promise<void> {
    const at = now - daysAgo * DAY;
    const start = at - 3_600_000;
    if (status === 'cancelled') {
      await f.server.db.query(
        `insert into allocations (id, kind, vehicle_id, customer_id, status, period, starts_at, ends_at, cancel_reason, updated_at, created_at, server_seq)
         values ($1, 'booking', $2, $3, 'cancelled', tstzrange($4::timestamptz, $5::timestamptz), $4, $5, 'customer changed plans', $5, $4, fleetdesk_next_seq())`,
        [id, vehicleId, f.customerId, iso(start), iso(at)],
      );
      return;
    }
    await f.server.db.query(
      `insert into allocations (id, kind, vehicle_id, customer_id, status, period, started_at, ended_at, updated_at, created_at, server_seq)
       values ($1, 'rental', $2, $3, $4, tstzrange($5::timestamptz, $6::timestamptz), $5, $7, $8, $5, fleetdesk_next_seq())`,
      [
        id,
        vehicleId,
        f.customerId,
        status,
        iso(start),
        status === 'active' ? null : iso(at),
        status === 'active' ? null : iso(at),
        iso(at),
      ],
    );
  }

  async function task(id: string, vehicleId: string, status: 'open' | 'done', daysAgo: number): Promise<void> {
    const at = iso(now - daysAgo * DAY);
    await f.server.db.query(
      `insert into tasks (id, vehicle_id, kind, status, created_by, created_at, completed_at, updated_at, server_seq)
       values ($1, $2, 'cleaning', $3, 'disp-1', $4, $5, $4, fleetdesk_next_seq())`,
      [id, vehicleId, status, at, status === 'done' ? at : null],
    );
  }

  beforeAll(async () => {
    await allocation('hz-closed-31d', v[0]!, 'ended', 31);
    await allocation('hz-cancelled-45d', v[1]!, 'cancelled', 45);
    await allocation('hz-open-40d', v[2]!, 'active', 40); // started 40 days ago, never touched since
    await allocation('hz-closed-2d', v[3]!, 'ended', 2);
    await allocation('hz-crossing', v[4]!, 'ended', 29); // within the horizon today, past it in two days
    await task('hz-task-done-31d', v[0]!, 'done', 31);
    await task('hz-task-open-40d', v[0]!, 'open', 40);
  });

  it('a first sync gets everything open and recent history, not what closed more than SYNC_HISTORY_DAYS ago', async () => {
    expect(await f.server.sync.retireHistory()).toBe(3); // two allocations, one task
    const rentals = await pullAll<RentalDoc>('rentals');
    expect([...rentals.docs.keys()].sort()).toEqual(['hz-closed-2d', 'hz-crossing', 'hz-open-40d']);
    expect(rentals.seen.some((d) => d._deleted)).toBe(false); // nothing about what the client never held
    expect(rentals.first.historyDays).toBe(30);
    const tasks = await pullAll<TaskDoc>('tasks');
    expect(tasks.docs.has('hz-task-open-40d')).toBe(true);
    expect(tasks.docs.has('hz-task-done-31d')).toBe(false);
    expect(tasks.first.historyDays).toBe(30);
    // the rows themselves stay: the staff API still serves them
    const old = await fetch(`${f.server.httpUrl}/ops/v1/bookings/hz-closed-31d`, {
      headers: await staffHeaders(f.server, 'support', 'support-1'),
    });
    expect(old.status).toBe(200);
    expect(await old.json()).toMatchObject({ id: 'hz-closed-31d', status: 'ended' });
    // a second run finds nothing more to do
    expect(await f.server.sync.retireHistory()).toBe(0);
  });

  it('an allocation crossing the horizon arrives as a deletion (pull and stream, every role); a later change brings it back', async () => {
    const support = await pullAll<RentalDoc>('rentals');
    const dispatcher = await pullAll<RentalDoc>('rentals', 0, 1000, 'dispatcher');
    expect(support.docs.has('hz-crossing')).toBe(true);
    const stream = await openStream(
      `${f.server.httpUrl}/sync/v1/stream?collections=rentals&checkpoints=${support.checkpoint}`,
      await staffHeaders(f.server, 'support', 'support-1'),
    );
    try {
      expect(await f.server.sync.retireHistory(now + 2 * DAY)).toBe(1);
      const byPull = await pullAll<RentalDoc>('rentals', support.checkpoint);
      expect([...byPull.docs.values()]).toEqual([
        expect.objectContaining({ id: 'hz-crossing', _deleted: true, status: 'ended', customerId: f.customerId, vehicleId: v[4] }),
      ]);
      const event = await stream.nextEvent<PullResponse<RentalDoc & { _deleted?: boolean }>>();
      expect(event.event).toBe('rentals');
      expect(event.data.documents).toEqual([expect.objectContaining({ id: 'hz-crossing', _deleted: true })]);
      // the role rules hold for the deletion too: a dispatcher's copy has no customer
      const byDispatcher = await pullAll<RentalDoc>('rentals', dispatcher.checkpoint, 1000, 'dispatcher');
      expect(byDispatcher.docs.get('hz-crossing')).toMatchObject({ _deleted: true, customerId: '', endReason: null });
      // a new desk does not get it at all
      expect((await pullAll<RentalDoc>('rentals')).docs.has('hz-crossing')).toBe(false);

      // a later change (written as the repositories write: a fresh seq, updated_at now) brings it back
      await f.server.db.query(
        `update allocations set end_reason = 'refund issued', updated_at = now(), server_seq = fleetdesk_next_seq() where id = 'hz-crossing'`,
      );
      const back = await pullAll<RentalDoc>('rentals', byPull.checkpoint);
      expect(back.docs.get('hz-crossing')).toMatchObject({ endReason: 'refund issued' });
      expect(back.docs.get('hz-crossing')?._deleted).toBeUndefined();
      const again = await stream.nextEvent<PullResponse<RentalDoc & { _deleted?: boolean }>>();
      expect(again.data.documents).toEqual([expect.objectContaining({ id: 'hz-crossing', endReason: 'refund issued' })]);
      expect(again.data.documents[0]?._deleted).toBeUndefined();
      expect((await pullAll<RentalDoc>('rentals')).docs.has('hz-crossing')).toBe(true);
      // the horizon counts from that change: it stays another SYNC_HISTORY_DAYS
      expect(await f.server.sync.retireHistory(now + 2 * DAY)).toBe(0);
    } finally {
      stream.close();
    }
  });

  it('a client starting from nothing skips deletions below its floor; without the floor it would page through them', async () => {
    // more retired rows than a page: five cancelled bookings of 40 days ago
    for (let i = 0; i < 5; i++) await allocation(`hz-bulk-${i}`, v[5 + (i % 3)]!, 'cancelled', 40 + i);
    expect(await f.server.sync.retireHistory()).toBe(5);
    const withFloor = await pullAll<RentalDoc>('rentals', 0, 2);
    expect(withFloor.seen.filter((d) => d._deleted)).toEqual([]);
    expect(withFloor.checkpoint).toBeGreaterThanOrEqual(withFloor.first.floor!);
    // the floor is what makes it so: a client that does not send it gets the deletions of documents it never had
    const withoutFloor = await pullAll<RentalDoc>('rentals', 0, 2, 'support', false);
    expect(withoutFloor.seen.filter((d) => d._deleted).map((d) => d.id)).toEqual(expect.arrayContaining(['hz-bulk-0', 'hz-bulk-4']));
    expect([...withFloor.docs.keys()].sort()).toEqual(
      [...withoutFloor.docs.entries()]
        .filter(([, d]) => !d._deleted)
        .map(([id]) => id)
        .sort(),
    );
  });

  it('the tombstone purge leaves retired rows retired (their negative seq is not re-stamped)', async () => {
    const before = await pullAll<RentalDoc>('rentals');
    expect(await f.server.sync.purgeTombstones(now + 40 * DAY)).toBeGreaterThanOrEqual(1);
    const after = await pullAll<RentalDoc>('rentals');
    expect([...after.docs.keys()].sort()).toEqual([...before.docs.keys()].sort());
    const { rows } = await f.server.db.query<{ n: number }>(
      `select count(*)::int as n from allocations where id like 'hz-%' and server_seq < 0`,
    );
    expect(rows[0]!.n).toBe(7);
  });
});

// (PGlite has one connection: transactions never overlap, nothing can commit late)
describe.runIf(process.env.DATABASE_URL).each(dbBackends().filter((b) => b.name === 'postgres'))(
  'sync history horizon and late commits on $name',
  (backend) => {
    const f = horizonServer(backend, 2, 'Late Committer');

    it('a retirement committed behind an open writer is held back until that writer commits, then both arrive', async () => {
      const headers = await staffHeaders(f.server, 'support', 'support-1');
      const pull = async (checkpoint: number) =>
        (await (
          await fetch(`${f.server.httpUrl}/sync/v1/rentals/pull?checkpoint=${checkpoint}&limit=1000`, { headers })
        ).json()) as PullResponse<Doc>;
      const old = new Date(Date.now() - 35 * DAY).toISOString();
      await f.server.db.query(
        `insert into allocations (id, kind, vehicle_id, customer_id, status, period, started_at, ended_at, updated_at, server_seq)
         values ('late-old', 'rental', $1, $2, 'ended', tstzrange($3::timestamptz - interval '1 hour', $3::timestamptz), $3::timestamptz - interval '1 hour', $3, $3, fleetdesk_next_seq())`,
        [f.vehicles[0]!.id, f.customerId, old],
      );
      const start = await pull(0);
      expect(start.documents.map((d) => d.id)).toEqual(['late-old']);
      // a writer takes its seq (an older transaction) and stays open while the retirement commits
      let release!: () => void;
      const gate = new Promise<void>((r) => (release = r));
      let wrote!: () => void;
      const written = new Promise<void>((r) => (wrote = r));
      const writer = f.server.db.transaction(async (tx) => {
        await tx.query(
          `insert into allocations (id, kind, vehicle_id, customer_id, status, period, started_at, server_seq)
           values ('late-open', 'rental', $1, $2, 'active', tstzrange(now(), null), now(), fleetdesk_next_seq())`,
          [f.vehicles[1]!.id, f.customerId],
        );
        wrote();
        await gate;
      });
      await written;
      expect(await f.server.sync.retireHistory()).toBe(1);
      const held = await pull(start.checkpoint.seq);
      expect(held.documents).toEqual([]); // the deletion's seq is above the open writer's: not final yet
      expect(held.checkpoint.seq).toBe(start.checkpoint.seq);
      release();
      await writer;
      const after = await pull(start.checkpoint.seq);
      expect(after.documents.map((d) => [d.id, d._deleted ?? false])).toEqual([
        ['late-open', false],
        ['late-old', true],
      ]);
    });
  },
);
