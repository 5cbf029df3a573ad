import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dbBackends, openTestDatabase } from '../../testing/backends.js';
import { HAZARDOUS_STRINGS } from '../../testing/hazardous-strings.js';
import { CopyBinaryWriter } from './copy-binary.js';
import type { Db } from './index.js';

const NASTY = [...HAZARDOUS_STRINGS, '', 'ü€😀 non-ASCII of 2, 3 and 4 bytes'];

describe('COPY binary format', () => {
  it('writes the header, each field with its length, and the trailer', () => {
    const w = new CopyBinaryWriter(8); // grows as needed
    w.row(4);
    w.text('ab');
    w.int8(-2);
    w.bool(true);
    w.null();
    const out = w.finish();
    expect(out.subarray(0, 11).toString('latin1')).toBe('PGCOPY\n\xff\r\n\0');
    expect(out.subarray(11, 19)).toEqual(Buffer.alloc(8));
    expect([...out.subarray(19)]).toEqual([
      ...[0, 4], // fields
      ...[0, 0, 0, 2, 0x61, 0x62], // text
      ...[0, 0, 0, 8, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe], // int8 -2
      ...[0, 0, 0, 1, 1], // bool
      ...[0xff, 0xff, 0xff, 0xff], // NULL
      ...[0xff, 0xff], // trailer
    ]);
  });

  it('refuses what a bigint or timestamptz column cannot hold exactly', () => {
    const w = new CopyBinaryWriter();
    expect(() => w.int8(1.5)).toThrow(RangeError);
    expect(() => w.int8(2 ** 53)).toThrow(RangeError);
    expect(() => w.timestamptz(Number.NaN)).toThrow(RangeError);
  });
});

describe.each(dbBackends())('binary copyFrom on $name', (backend) => {
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
      expect(db.framedCopy).toBeUndefined();
    });
    return;
  }

  it('round-trips every kind of value in one statement: hazardous text, extreme numbers, times, NULL', async () => {
    await db.exec('create table copy_probe (id bigint primary key, t text, f float8, b bool, ts timestamptz, maybe text)');
    const floats = [Number.NaN, Infinity, -Infinity, -0.25, 1e-300, 1.7976931348623157e308, 52.520008];
    // unique bigint ids across the range JavaScript carries exactly: both ends, negatives, both halves of 64 bits
    const id = (i: number) => (i === 0 ? -9_007_199_254_740_991 : i === 1 ? 9_007_199_254_740_991 : (i - 5) * 4_294_967_297);
    const rows = NASTY.map((t, i) => ({
      id: id(i),
      t,
      f: floats[i % floats.length]!,
      b: i % 2 === 0,
      // before and after PostgreSQL's epoch (2000-01-01), with milliseconds
      ts: Date.UTC(1999 + (i % 40), i % 12, 1 + (i % 28), i % 24, i % 60, i % 60, i),
      maybe: i % 3 === 0 ? null : t,
    }));
    const w = new CopyBinaryWriter();
    for (const r of rows) {
      w.row(6);
      w.int8(r.id);
      w.text(r.t);
      w.float8(r.f);
      w.bool(r.b);
      w.timestamptz(r.ts);
      if (r.maybe === null) w.null();
      else w.text(r.maybe);
    }
    const copied = await db.copyFrom!('copy copy_probe (id, t, f, b, ts, maybe) from stdin (format binary)', w.finish());
    expect(copied).toBe(rows.length);
    const { rows: stored } = await db.query<{ id: string; t: string; f: number; b: boolean; ts_ms: number; maybe: string | null }>(
      'select id::text as id, t, f, b, (extract(epoch from ts) * 1000)::float8 as ts_ms, maybe from copy_probe',
    );
    const byId = new Map(stored.map((r) => [r.id, r]));
    for (const r of rows) {
      const s = byId.get(String(r.id));
      expect(s, `row ${r.id}`).toBeDefined();
      expect({ t: s!.t, f: s!.f, b: s!.b, ts: Number(s!.ts_ms), maybe: s!.maybe }).toEqual({
        t: r.t,
        f: r.f,
        b: r.b,
        ts: r.ts,
        maybe: r.maybe,
      });
    }
  });

  it('a bad input fails the whole COPY, and the pool stays usable', async () => {
    await db.exec('create table copy_probe_strict (id int8 primary key, v int8 not null)');
    const input = (rows: Array<[number, number | null]>) => {
      const w = new CopyBinaryWriter();
      for (const [id, v] of rows) {
        w.row(2);
        w.int8(id);
        if (v === null) w.null();
        else w.int8(v);
      }
      return w.finish();
    };
    const sql = 'copy copy_probe_strict (id, v) from stdin (format binary)';
    await expect(
      db.copyFrom!(
        sql,
        input([
          [1, 1],
          [2, null],
        ]),
      ),
    ).rejects.toThrow(/null value/);
    // a float8 where the column is int8: binary input is not converted, it is refused
    const wrong = new CopyBinaryWriter();
    wrong.row(2);
    wrong.int8(3);
    wrong.text('x');
    await expect(db.copyFrom!(sql, wrong.finish())).rejects.toThrow(/incorrect binary data format|insufficient data/);
    // more failures than pool connections: each connection went back to the pool in working order
    for (let i = 0; i < 12; i++) await expect(db.copyFrom!(sql, Buffer.from('not binary copy'))).rejects.toThrow();
    expect(
      await db.copyFrom!(
        sql,
        input([
          [4, 4],
          [5, 5],
        ]),
      ),
    ).toBe(2);
    expect((await db.query<{ id: string }>('select id::text as id from copy_probe_strict order by id')).rows).toEqual([
      { id: '4' },
      { id: '5' },
    ]);
    // inside a transaction: a failed COPY rolls the transaction back like any failed statement
    await expect(
      db.transaction(async (tx) => {
        await tx.copyFrom!(sql, input([[6, 6]]));
        await tx.copyFrom!(sql, input([[7, null]]));
      }),
    ).rejects.toThrow();
    expect((await db.query<{ n: number }>('select count(*)::int as n from copy_probe_strict')).rows[0]!.n).toBe(2);
  });

  it('framedCopy: scripts and the COPY in one transaction; a failure in any part leaves nothing', async () => {
    await db.exec('create table copy_probe_framed (id int8 primary key, v int8 not null)');
    const one = (id: number) => {
      const w = new CopyBinaryWriter();
      w.row(2);
      w.int8(id);
      w.int8(id * 10);
      return w.finish();
    };
    const stage = 'create temp table if not exists framed_stage (id int8, v int8) on commit delete rows';
    await db.framedCopy!({
      before: stage,
      copy: 'copy framed_stage (id, v) from stdin (format binary)',
      data: one(1),
      after: 'insert into copy_probe_framed select id, v from framed_stage; insert into copy_probe_framed values (2, 20)',
    });
    // the second statement of `after` fails: the first one's row goes too
    await expect(
      db.framedCopy!({
        before: stage,
        copy: 'copy framed_stage (id, v) from stdin (format binary)',
        data: one(3),
        after: 'insert into copy_probe_framed select id, v from framed_stage; insert into copy_probe_framed values (1, 0)',
      }),
    ).rejects.toThrow(/duplicate key/);
    await expect(
      db.framedCopy!({
        before: stage,
        copy: 'copy framed_stage (id, v) from stdin (format binary)',
        data: Buffer.from('x'),
        after: 'select 1',
      }),
    ).rejects.toThrow();
    expect((await db.query<{ id: string }>('select id::text as id from copy_probe_framed order by id')).rows).toEqual([
      { id: '1' },
      { id: '2' },
    ]);
  });
});
