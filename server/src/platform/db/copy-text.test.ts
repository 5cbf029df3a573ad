import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dbBackends, openTestDatabase } from '../../testing/backends.js';
import { HAZARDOUS_STRINGS } from '../../testing/hazardous-strings.js';
import { copyText, copyValue } from './copy-text.js';
import type { Db } from './index.js';

const NASTY = [...HAZARDOUS_STRINGS, ''];

describe('COPY text format', () => {
  it('escapes exactly backslash, newline, carriage return and tab', () => {
    expect(copyValue('a\\b\nc\rd\te')).toBe('a\\\\b\\nc\\rd\\te');
    expect(copyValue(`it's "x" ü`)).toBe(`it's "x" ü`);
    expect(copyValue('\\N')).toBe('\\\\N'); // the text, not NULL
  });

  it('writes NULL, booleans, numbers, dates and JSON', () => {
    expect([null, undefined, true, false, 1.5, -0.25, 12n, Number.NaN].map(copyValue)).toEqual([
      '\\N',
      '\\N',
      't',
      'f',
      '1.5',
      '-0.25',
      '12',
      'NaN',
    ]);
    expect(copyValue(new Date(Date.UTC(2031, 0, 2, 3, 4, 5, 6)))).toBe('2031-01-02T03:04:05.006Z');
    expect(copyValue({ note: 'a\tb', n: [1, 2] })).toBe('{"note":"a\\\\tb","n":[1,2]}');
  });

  it('lays out rows as tab-separated lines', () => {
    expect(
      copyText(
        [
          { a: 'x\ty', b: 1 },
          { a: null, b: 2 },
        ],
        (r) => [r.a, r.b],
      ),
    ).toBe('x\\ty\t1\n\\N\t2\n');
  });
});

describe.each(dbBackends())('copyFrom on $name', (backend) => {
  let db: Db;
  let close: (() => Promise<void>) | undefined;

  beforeAll(async () => {
    ({ db, close } = await openTestDatabase(backend));
  });
  afterAll(() => close?.());

  // Each case only where it applies (defined, not skipped: a full `npm test` allows no unlisted skips).
  if (backend.name === 'pglite') {
    it('is absent on PGlite (its callers keep their parameterised path)', () => {
      expect(db.copyFrom).toBeUndefined();
    });
    return;
  }

  it('round-trips every kind of value, escapes included, in one statement', async () => {
    await db.exec('create table copy_probe (id int primary key, t text, j jsonb, f float8, b bool, ts timestamptz, n bigint, maybe text)');
    const rows = NASTY.map((t, i) => ({
      id: i,
      t,
      j: { t, nested: [t, { [t]: i }] },
      f: i === 0 ? Number.NaN : i / 3,
      b: i % 2 === 0,
      ts: new Date(Date.UTC(2031, 0, 1) + i * 1_001),
      n: 9_007_199_254_740_991 - i,
      maybe: i % 3 === 0 ? null : t,
    }));
    const copied = await db.copyFrom!(
      'copy copy_probe (id, t, j, f, b, ts, n, maybe) from stdin',
      copyText(rows, (r) => [r.id, r.t, r.j, r.f, r.b, r.ts, r.n, r.maybe]),
    );
    expect(copied).toBe(rows.length);
    const { rows: stored } = await db.query<{
      id: number;
      t: string;
      j: unknown;
      f: number;
      b: boolean;
      ts_ms: number;
      n: string;
      maybe: string | null;
    }>('select id, t, j, f, b, (extract(epoch from ts) * 1000)::float8 as ts_ms, n::text as n, maybe from copy_probe order by id');
    expect(
      stored.map((r) => ({ id: r.id, t: r.t, j: r.j, f: r.f, b: r.b, ts: new Date(Number(r.ts_ms)), n: Number(r.n), maybe: r.maybe })),
    ).toEqual(rows);
  });

  it('a bad row fails the whole COPY, and the pool stays usable', async () => {
    await db.exec('create table copy_probe_strict (id int primary key, v int not null)');
    await expect(db.copyFrom!('copy copy_probe_strict (id, v) from stdin', '1\t1\n2\t\\N\n')).rejects.toThrow(/null value/);
    await expect(db.copyFrom!('copy copy_probe_strict (id, v) from stdin', '3\tnot a number\n')).rejects.toThrow(/invalid input syntax/);
    // more failures than pool connections: each connection went back to the pool in working order
    for (let i = 0; i < 12; i++) await expect(db.copyFrom!('copy copy_probe_strict (id, v) from stdin', 'x\n')).rejects.toThrow();
    expect(await db.copyFrom!('copy copy_probe_strict (id, v) from stdin', '4\t4\n5\t5\n')).toBe(2);
    expect((await db.query<{ id: number }>('select id from copy_probe_strict order by id')).rows).toEqual([{ id: 4 }, { id: 5 }]);
    // inside a transaction: a failed COPY rolls the transaction back like any failed statement
    await expect(
      db.transaction(async (tx) => {
        await tx.copyFrom!('copy copy_probe_strict (id, v) from stdin', '6\t6\n');
        await tx.copyFrom!('copy copy_probe_strict (id, v) from stdin', '7\tseven\n');
      }),
    ).rejects.toThrow();
    expect((await db.query<{ n: number }>('select count(*)::int as n from copy_probe_strict')).rows[0]!.n).toBe(2);
  });
});
