/**
 * The sync component's generic data access over the replicated tables: the pull query (rows and tombstones written
 * strictly after a checkpoint, in server_seq order), a document's master state, the current sequence and tombstone
 * retention. Which table holds a collection and how its rows become documents is the owning component's
 * (a ReplicatedTable, platform/db/replicated-rows.ts), handed in as SyncTables.
 */
import type { OperatorRole } from '../../../../../src/shared/operator-role.js';
import {
  canSeeCustomerData,
  projectForRole,
  requestKindsVisibleTo,
  type SyncCollection,
  type SyncDocMap,
} from '../../../../../src/shared/sync-protocol.js';
import { isSaturatedSeq, SEQ_WATERMARK, settledSeq, type Queryable } from '../../../platform/db/index.js';
import { json, ms, type ReplicatedRow, type ReplicatedTable } from '../../../platform/db/replicated-rows.js';

/** Every collection's table: the owning components' descriptions (composed in app.ts) and the sync component's own. */
export type SyncTables = { [C in SyncCollection]: ReplicatedTable<SyncDocMap[C]> };

/**
 * Per-role row filters of a pull, on the live row (`t`) and on a tombstone's last state (`row`): notes about
 * customers are personal data, hidden from roles that may not read customer data; so are the requests of kinds
 * such a role may not make itself (refunds, blocks, … name customers). The kinds come from the role table, never
 * from the caller: the SQL holds only known identifiers.
 */
function roleFilter(collection: SyncCollection, role: OperatorRole | undefined): { live: string; dead: string } {
  if (role === undefined || canSeeCustomerData(role)) return { live: 'true', dead: 'true' };
  if (collection === 'notes') {
    return { live: `t.target_type <> 'customer'`, dead: `coalesce(row ->> 'target_type', '') <> 'customer'` };
  }
  if (collection === 'requests') {
    const kinds = requestKindsVisibleTo(role)
      .map((k) => `'${k}'`)
      .join(', ');
    return kinds === ''
      ? { live: 'false', dead: 'false' }
      : { live: `t.kind in (${kinds})`, dead: `coalesce(row ->> 'kind', '') in (${kinds})` };
  }
  return { live: 'true', dead: 'true' };
}

export interface PullPage<D> {
  documents: D[];
  /** highest server_seq returned (the input checkpoint when nothing was) */
  checkpoint: number;
  /**
   * rows after the checkpoint are committed but not yet final (a transaction with a lower seq is still open;
   * platform/db/replication.ts): pull again shortly — the commit that releases them may move no head
   */
  heldBack: boolean;
  /**
   * (a pull from checkpoint 0 only) every seq at or below this was final when the pull read: a tombstone at or
   * below it is of a document deleted before this client read anything, so a client starting from nothing passes
   * it as `floor` on its following pulls and is never sent those (a month of history leaving the replica is
   * hundreds of thousands of them at fleet scale)
   */
  floor?: number;
}

type PullRow = {
  _seq: number | null;
  dead: boolean;
  row: unknown;
  doc_id: string | null;
  deleted_at: unknown;
  hidden: boolean;
  held_back: boolean | null;
  w: number | null;
};

/**
 * The live rows and tombstones of `collection` with a server_seq in `range` (SQL over $1 = after, $3 = collection);
 * tombstones only above `floor` (an SQL expression): those at or below are of documents the client never held.
 */
function pullSelect(sql: ReplicatedTable<unknown>, filter: { live: string; dead: string }, range: string, floor: string): string {
  return `(select t.server_seq::float8 as _seq, false as dead, ${sql.rowJson ?? 'to_jsonb(t)'} as row, null::text as doc_id, null::timestamptz as deleted_at, not (${filter.live}) as hidden
        from ${sql.table} t where ${range.replaceAll('@', 't.server_seq')} order by t.server_seq limit $2)
     union all
     (select server_seq::float8, true, row, doc_id, deleted_at, not (${filter.dead})
        from sync_tombstones where collection = $3 and ${range.replaceAll('@', 'server_seq')} and server_seq > ${floor} order by server_seq limit $2)`;
}

/**
 * Documents and tombstones with server_seq > `after`, in server_seq order, at most `limit` (more only when one
 * transaction wrote over 65,535 rows: a page never splits a seq); `role` hides what the role may not see (see
 * roleFilter; the checkpoint then still moves past the hidden rows of this snapshot). Only rows below the
 * watermark come back (platform/db/replication.ts): a transaction still open holds no seq at or below the
 * returned checkpoint. Tombstones at or below `floor` are left out (the client started from nothing after they
 * were written: PullPage.floor; from checkpoint 0 every tombstone is); when the page is not full the checkpoint
 * then moves up to the floor, so the client's later pulls and streams start above them.
 */
export async function pullCollection<C extends SyncCollection>(
  q: Queryable,
  sql: ReplicatedTable<SyncDocMap[C]>,
  collection: C,
  after: number,
  limit: number,
  role?: OperatorRole,
  floor = 0,
): Promise<PullPage<SyncDocMap[C]>> {
  const filter = roleFilter(collection, role);
  // ONE statement = one snapshot: rows and tombstones are read consistently (two statements could skip a
  // tombstone committed between them), and the watermark is that same snapshot's (SEQ_WATERMARK is STABLE).
  // The last row (_seq null) says whether committed rows wait above the watermark, and gives the watermark.
  // The plan must not depend on the tables' statistics (PGlite never analyzes; a bulk load outdates them): the
  // page takes the first `limit` rows after the checkpoint (one bound: an index scan that stops at the limit, the
  // row JSON built for those rows only) and keeps those below the watermark — the same rows, as a prefix in seq
  // order; "anything at or above the watermark" is the highest seq (an index look-up), not a scan for one.
  const { rows } = await q.query<PullRow>(
    `with w as materialized (select ${SEQ_WATERMARK} as w),
     page as (select * from (${pullSelect(sql, filter, '@ > $1', 'case when $1 = 0 then (select w from w) else $4 end')} order by 1 limit $2) p
               where p._seq < (select w from w))
     select *, null::boolean as held_back, null::float8 as w from page
     union all
     select null, false, null, null, null, true,
            coalesce((select max(server_seq) from ${sql.table}) >= (select w from w), false)
              or coalesce((select max(server_seq) from sync_tombstones where collection = $3) >= (select w from w), false),
            (select w from w)::float8
     order by 1 nulls last`,
    [after, limit, collection, floor],
  );
  const heldBack = rows.some((r) => r._seq === null && r.held_back === true);
  const watermark = Number(rows.find((r) => r._seq === null)?.w ?? 0);
  const page = rows.filter((r) => r._seq !== null);
  const last = page.at(-1)?._seq;
  if (page.length >= limit && last !== undefined && isSaturatedSeq(Number(last))) {
    // the page may end inside a group of rows sharing one seq (one huge transaction): take the whole group
    // (below the watermark, so final: a second statement sees the same rows)
    const seen = new Set(page.filter((r) => Number(r._seq) === Number(last)).map((r) => `${r.dead}:${r.doc_id ?? JSON.stringify(r.row)}`));
    const groupFloor = after === 0 ? watermark : floor;
    const { rows: group } = await q.query<PullRow>(`${pullSelect(sql, filter, '@ = $1', '$4')}`, [
      last,
      2_147_483_647,
      collection,
      groupFloor,
    ]);
    for (const r of group) if (!seen.has(`${r.dead}:${r.doc_id ?? JSON.stringify(r.row)}`)) page.push(r);
  }
  let checkpoint = after;
  const documents: Array<SyncDocMap[C]> = [];
  for (const r of page) {
    // rows come in server_seq order (the statement's order by): the checkpoint is the last one looked at
    checkpoint = Math.max(checkpoint, Number(r._seq));
    if (r.hidden) continue;
    const row = r.row ? json<ReplicatedRow>(r.row) : { [sql.idColumn]: r.doc_id };
    const doc = role === undefined ? sql.toDoc(row) : projectForRole(collection, sql.toDoc(row), role);
    documents.push(r.dead ? { ...doc, id: String(r.doc_id), updatedAt: ms(r.deleted_at), _deleted: true } : doc);
  }
  // Not full: every row in (after, watermark) but the tombstones at or below the floor came back.
  if (page.length < limit && floor > checkpoint) checkpoint = Math.min(floor, watermark - 1);
  return { documents, checkpoint, heldBack, ...(after === 0 ? { floor: watermark - 1 } : {}) };
}

/** The current master state of one document (undefined: never existed or deleted). */
export async function getMaster<D>(q: Queryable, sql: ReplicatedTable<D>, id: string): Promise<D | undefined> {
  // alerts.id is a uuid: compare as text so a malformed id is simply not found.
  const { rows } = await q.query<{ row: unknown }>(
    `select ${sql.rowJson ?? 'to_jsonb(t)'} as row from ${sql.table} t where t.${sql.idColumn}::text = $1`,
    [id],
  );
  return rows[0] ? sql.toDoc(json<ReplicatedRow>(rows[0].row)) : undefined;
}

/**
 * The highest seq nothing can still commit at or below (below the watermark: platform/db/replication.ts). A
 * stream with no checkpoint starts here.
 */
export function currentSeq(q: Queryable): Promise<number> {
  return settledSeq(q);
}

/** Every collection's highest server_seq, live rows and tombstones (one statement; index-only look-ups). */
export async function collectionHeads(q: Queryable, tables: SyncTables): Promise<Map<string, number>> {
  const live = Object.entries(tables as Record<string, { table: string }>).map(
    ([c, t]) => `select '${c}' as c, (select max(server_seq) from ${t.table})::float8 as seq`,
  );
  const { rows } = await q.query<{ c: string; seq: number | null }>(
    `${live.join(' union all ')} union all select 'tombstones:' || collection, max(server_seq)::float8 from sync_tombstones group by collection`,
  );
  const heads = new Map<string, number>();
  for (const r of rows) {
    if (r.seq === null) continue;
    const c = r.c.startsWith('tombstones:') ? r.c.slice('tombstones:'.length) : r.c;
    heads.set(c, Math.max(heads.get(c) ?? 0, Number(r.seq)));
  }
  return heads;
}

/** Tombstones up to this seq were purged for the collection (0: none). */
export async function purgedThrough(q: Queryable, collection: SyncCollection): Promise<number> {
  const { rows } = await q.query<{ seq: number }>('select purged_through_seq::float8 as seq from sync_retention where collection = $1', [
    collection,
  ]);
  return Number(rows[0]?.seq ?? 0);
}

/**
 * Deletes tombstones older than `cutoffMs` and records per collection the highest seq purged (P). A pull from a
 * checkpoint below P then answers 410: that client may have missed a deletion. So that a *fresh* client paging
 * from 0 never holds a checkpoint below P, the collection's live rows (and remaining tombstones) at or below P
 * get a new server_seq in the same transaction — every client re-reads that collection once per purge that
 * removed something (deletions are rare: nothing in the product deletes replicated rows today). The new seqs are
 * the purging transaction's (platform/db/replication.ts), so a client can only see the purge whole.
 */
export async function purgeTombstones(tx: Queryable, tables: SyncTables, cutoffMs: number): Promise<number> {
  const { rows } = await tx.query<{ collection: string; seq: number; n: number }>(
    `with gone as (delete from sync_tombstones where deleted_at < to_timestamp($1::float8 / 1000) returning collection, server_seq)
     select collection, max(server_seq)::float8 as seq, count(*)::float8 as n from gone group by collection`,
    [cutoffMs],
  );
  for (const r of rows) {
    await tx.query(
      `insert into sync_retention (collection, purged_through_seq) values ($1, $2)
       on conflict (collection) do update set purged_through_seq = greatest(sync_retention.purged_through_seq, excluded.purged_through_seq)`,
      [r.collection, r.seq],
    );
    // (not the rows retired past the history horizon, seq < 0: they are not in the replica, a new seq would bring them back)
    const sql = (tables as Record<string, { table: string } | undefined>)[r.collection];
    if (sql) await tx.query(`update ${sql.table} set server_seq = fleetdesk_next_seq() where server_seq > 0 and server_seq <= $1`, [r.seq]);
    await tx.query(`update sync_tombstones set server_seq = fleetdesk_next_seq() where collection = $1 and server_seq <= $2`, [
      r.collection,
      r.seq,
    ]);
  }
  return rows.reduce((n, r) => n + Number(r.n), 0);
}

/**
 * Moves up to `batch` closed rows of one collection untouched since before `cutoffMs` out of the replica (the
 * history horizon, migration 032): each one's server_seq becomes negative (no pull reads it any more: every pull
 * reads seqs above a checkpoint ≥ 0) and it gets a tombstone — its last state, with a seq of this transaction —
 * so a desk that held it receives a deletion through the usual pull and stream. Rows a writer holds are skipped
 * (the next run takes them); a row changed meanwhile is judged on its new version (READ COMMITTED re-check).
 * Returns how many were retired.
 */
export async function retireClosed(
  tx: Queryable,
  sql: ReplicatedTable<unknown>,
  collection: SyncCollection,
  cutoffMs: number,
  batch: number,
): Promise<number> {
  if (!sql.horizon) return 0;
  const candidate = `t.server_seq > 0 and ${sql.horizon.closed} and t.updated_at < to_timestamp($1::float8 / 1000)`;
  const { rows } = await tx.query<{ n: number }>(
    `with picked as (
       select t.${sql.idColumn} as id from ${sql.table} t where ${candidate} order by t.updated_at limit $2 for update skip locked),
     retired as (
       update ${sql.table} t set server_seq = -t.server_seq from picked where t.${sql.idColumn} = picked.id and ${candidate}
       returning t.${sql.idColumn}::text as doc_id, ${sql.rowJson ?? 'to_jsonb(t)'} as row),
     stones as (
       insert into sync_tombstones (collection, doc_id, row, server_seq)
       select $3, doc_id, row, fleetdesk_next_seq() from retired
       on conflict (collection, doc_id) do update set row = excluded.row, server_seq = excluded.server_seq, deleted_at = now()
       returning 1)
     select count(*)::float8 as n from stones`,
    [cutoffMs, batch, collection],
  );
  return Number(rows[0]?.n ?? 0);
}
