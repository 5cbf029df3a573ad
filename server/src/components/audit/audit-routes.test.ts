/**
 * The audit viewer's routes through the whole server (PGlite always, PostgreSQL when DATABASE_URL is set):
 * filters by actor, action (or an area's actions), target and time; paging; the CSV export of the same filters
 * (escaped, formulas neutralised); the filter vocabulary; roles and bad input.
 */
import { parse } from 'csv-parse/sync';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type ServerHandle } from '../../app.js';
import { staffHeaders } from '../../testing/auth.js';
import { dbBackends } from '../../testing/backends.js';
import { recordAudit, type AuditRecord } from './index.js';

const quiet = { port: 0, mqttPort: 0, mqttUrl: undefined, mqttAuth: 'off' as const, logLevel: 'silent' as const, seedVehicles: 0 };
const T0 = Date.UTC(2026, 10, 2, 9, 0, 0);
const HOUR = 3_600_000;

describe.each(dbBackends())('audit routes on $name', (backend) => {
  let server: ServerHandle;
  let cleanup: () => Promise<void>;
  let support: Record<string, string>;

  beforeAll(async () => {
    const created = await backend.create();
    cleanup = created.cleanup;
    server = await startServer({ ...quiet, ...created.overrides });
    support = await staffHeaders(server, 'support', 'auditor');
    await server.db.transaction(async (tx) => {
      // 30 refunds by lena on rentals, one hour apart; a few other things by others
      for (let i = 0; i < 30; i++) {
        await recordAudit(tx, {
          actor: 'lena',
          role: 'support',
          action: 'payment.refund_requested',
          targetType: 'rental',
          targetId: `rt-${i}`,
          reason: i === 0 ? '=HYPERLINK("http://evil.example","click")' : `goodwill ${i}`,
          before: { refundedCents: 0 },
          after: { amountCents: 100 + i, note: 'a, "quoted"\nline' },
          at: T0 + i * HOUR,
        });
      }
      await recordAudit(tx, {
        actor: 'max',
        role: 'admin',
        action: 'staff.updated',
        targetType: 'staff',
        targetId: 'lena',
        before: { role: 'dispatcher' },
        after: { role: 'support' },
        at: T0 + 5 * HOUR,
      });
      await recordAudit(tx, {
        actor: 'max',
        role: 'admin',
        action: 'payment.operation_retried',
        targetType: 'rental',
        targetId: 'rt-3',
        reason: '-1 provider back',
        at: T0 + 6 * HOUR,
      });
      await recordAudit(tx, {
        actor: 'system',
        role: 'system',
        action: 'command.issued',
        targetType: 'command',
        targetId: 'cmd-1',
        at: T0 + 7 * HOUR,
      });
    });
  });
  afterAll(async () => {
    await server?.stop();
    await cleanup?.();
  });

  const get = async (path: string, headers = support) => {
    const res = await fetch(`${server.httpUrl}/ops/v1${path}`, { headers });
    const text = await res.text();
    return { status: res.status, type: res.headers.get('content-type'), headers: res.headers, text };
  };
  const list = async (query: string) => {
    const res = await get(`/audit?${query}`);
    expect(res.status, `${query}: ${res.text}`).toBe(200);
    return JSON.parse(res.text) as { entries: AuditRecord[]; nextBeforeId: number | null };
  };

  it('filters by actor, action, an area of actions, target type and id, and time range; newest first', async () => {
    const byMax = await list('actor=max');
    expect(byMax.entries.map((e) => e.action)).toEqual(['payment.operation_retried', 'staff.updated']);
    expect((await list('action=staff.updated')).entries.map((e) => [e.actor, e.targetId])).toEqual([['max', 'lena']]);
    const payments = await list('action=payment.*&limit=1000');
    expect(payments.entries).toHaveLength(31);
    expect(new Set(payments.entries.map((e) => e.action))).toEqual(new Set(['payment.refund_requested', 'payment.operation_retried']));
    expect((await list('targetType=rental&targetId=rt-3')).entries.map((e) => e.actor)).toEqual(['max', 'lena']);
    expect((await list('targetType=command')).entries.map((e) => e.targetId)).toEqual(['cmd-1']);
    const window = await list(`actor=lena&from=${T0 + 10 * HOUR}&to=${T0 + 13 * HOUR}`);
    expect(window.entries.map((e) => e.targetId)).toEqual(['rt-12', 'rt-11', 'rt-10']);
    expect(window.entries[0]).toMatchObject({ at: T0 + 12 * HOUR, before: { refundedCents: 0 }, after: { amountCents: 112 } });
    expect((await list('actor=nobody')).entries).toEqual([]);
  });

  it('pages through a large result with nextBeforeId until it is null', async () => {
    const seen: string[] = [];
    let beforeId: number | null = null;
    let pages = 0;
    do {
      const page = await list(`actor=lena&limit=7${beforeId ? `&beforeId=${beforeId}` : ''}`);
      seen.push(...page.entries.map((e) => e.targetId));
      beforeId = page.nextBeforeId;
      pages++;
    } while (beforeId !== null);
    expect(pages).toBe(5);
    expect(seen).toEqual(Array.from({ length: 30 }, (_, i) => `rt-${29 - i}`));
  });

  it('exports the filtered entries as CSV: escaped, formula-looking cells neutralised, as a file', async () => {
    const res = await get(`/audit.csv?action=payment.*&from=${T0}&to=${T0 + 30 * HOUR}`);
    expect(res.status).toBe(200);
    expect(res.type).toMatch(/^text\/csv/);
    expect(res.headers.get('content-disposition')).toMatch(/^attachment; filename="fleetdesk-audit-.*\.csv"$/);
    const rows = parse(res.text, { columns: true }) as Array<Record<string, string>>;
    expect(rows).toHaveLength(31);
    expect(Object.keys(rows[0]!)).toEqual(['id', 'at', 'actor', 'role', 'action', 'targetType', 'targetId', 'reason', 'before', 'after']);
    expect(rows[0]).toMatchObject({ actor: 'max', action: 'payment.operation_retried', reason: "'-1 provider back" });
    const first = rows.find((r) => r.targetId === 'rt-0')!;
    expect(first.reason).toBe(`'=HYPERLINK("http://evil.example","click")`);
    expect(first.at).toBe(new Date(T0).toISOString());
    expect(JSON.parse(first.after!)).toEqual({ amountCents: 100, note: 'a, "quoted"\nline' });
    expect(res.text.split('\r\n')[0]).toBe('id,at,actor,role,action,targetType,targetId,reason,before,after');
    // more than one page of the export's reads (1000): every entry once, newest first
    await server.db.query(
      `insert into audit_log (at, actor, role, action, target_type, target_id) select now(), 'bulk', 'system', 'thing.bulk', 'vehicle', 'v-' || g from generate_series(1, 2100) g`,
    );
    const bulk = parse((await get('/audit.csv?actor=bulk')).text, { columns: true }) as Array<Record<string, string>>;
    expect(bulk).toHaveLength(2100);
    expect(new Set(bulk.map((r) => r.id)).size).toBe(2100);
    expect([bulk[0]!.targetId, bulk[2099]!.targetId]).toEqual(['v-2100', 'v-1']);
    // same filters as the list
    const empty = await get('/audit.csv?actor=nobody');
    expect(empty.text).toBe('id,at,actor,role,action,targetType,targetId,reason,before,after\r\n');
  });

  it('lists the actions and target types that occur', async () => {
    const res = await get('/audit/vocabulary');
    expect(res.status).toBe(200);
    const vocabulary = JSON.parse(res.text) as { actions: string[]; targetTypes: string[] };
    expect(vocabulary.actions).toEqual(
      expect.arrayContaining(['command.issued', 'payment.operation_retried', 'payment.refund_requested', 'staff.updated']),
    );
    expect(vocabulary.actions).toEqual([...vocabulary.actions].sort());
    expect(new Set(vocabulary.actions).size).toBe(vocabulary.actions.length);
    expect(vocabulary.targetTypes).toEqual(expect.arrayContaining(['command', 'rental', 'staff']));
  });

  it('support and admin read the audit; dispatchers and strangers do not; bad input is a 400 problem', async () => {
    const dispatcher = await staffHeaders(server, 'dispatcher');
    const admin = await staffHeaders(server, 'admin');
    for (const path of ['/audit', '/audit.csv', '/audit/vocabulary']) {
      expect((await get(path, dispatcher)).status, path).toBe(403);
      expect((await get(path, {})).status, path).toBe(401);
      expect((await get(path, admin)).status, path).toBe(200);
    }
    for (const query of [
      `from=${T0 + HOUR}&to=${T0}`,
      `from=${T0}&to=${T0}`,
      'from=yesterday',
      'action=DROP TABLE',
      'action=payment.*.x*',
    ]) {
      for (const path of ['/audit', '/audit.csv']) {
        const res = await get(`${path}?${query}`);
        expect([res.status, res.type], `${path}?${query}`).toEqual([400, expect.stringMatching(/^application\/problem\+json/)]);
      }
    }
    for (const query of ['limit=0', 'limit=1001', 'beforeId=-1']) {
      const res = await get(`/audit?${query}`);
      expect([res.status, res.type], query).toEqual([400, expect.stringMatching(/^application\/problem\+json/)]);
    }
  });
});
