/**
 * Replication checkpoints are server sequence numbers (ARCHITECTURE.md, docs/sync-protocol.md). A replicated row
 * takes `server_seq = fleetdesk_next_seq()` (013_replication_xid_seq.sql) inside its writing transaction; no
 * lock is taken, so unrelated writes run side by side, on one instance or many.
 *
 * Why a reader still never skips a row that commits late:
 *
 * 1. A seq names its writer: `seq = xid * 65536 + n + D`, xid = the writing transaction's `pg_current_xact_id()`
 *    (xid8: 64-bit, never wraps), n < 65536 a counter inside that transaction, D a constant. So seq order is
 *    (xid, n) order, and every seq of transaction X lies in [X·65536 + D, (X+1)·65536 + D).
 * 2. A pull reads in ONE statement the rows with `server_seq < fleetdesk_seq_watermark()` = xmin·65536 + D,
 *    xmin = `pg_snapshot_xmin(pg_current_snapshot())` of that same statement: every transaction with an xid
 *    below xmin had ended (committed or rolled back) when the statement's snapshot was taken, so its rows are
 *    visible to the statement if it committed, and it can write nothing more. A transaction in flight then has
 *    an xid ≥ xmin, as has every transaction that starts later: all of them write at or above the watermark.
 * 3. So the rows below the watermark are final: the pull returns them in seq order and its checkpoint (the last
 *    seq it returned) is below the watermark. Anything that commits later lands above that checkpoint, and the
 *    next pull from it returns it. Committed rows at or above the watermark (a later transaction that finished
 *    while an earlier one is still open) wait until the earlier one ends; the pull says so (`heldBack`) and a
 *    stream pulls again shortly (stream-hub.ts).
 *
 * The price: one long transaction that holds an xid (any write, replicated or not) delays what replicas see
 * until it ends — not what they end up with. On PGlite (one connection) transactions never overlap and the
 * watermark is simply above everything committed.
 */
import type { Queryable } from './db.js';

/** SQL expression: every server_seq below it is final for the statement that evaluates it (see the file header). */
export const SEQ_WATERMARK = 'fleetdesk_seq_watermark()';

/**
 * The highest seq nothing can still commit at or below: a stream with no checkpoint starts here (it then gets
 * whatever commits after, including rows of transactions already in flight now).
 */
export async function settledSeq(q: Queryable): Promise<number> {
  const { rows } = await q.query<{ seq: number }>(`select (${SEQ_WATERMARK} - 1)::float8 as seq`);
  return Number(rows[0]?.seq ?? 0);
}

/** Rows per transaction that get distinct seqs; later ones share the last (a pull never splits them). */
const SEQS_PER_XACT = 65_536;

/** A seq that may be shared by several rows of one large transaction (its counter saturated). */
export function isSaturatedSeq(seq: number): boolean {
  return seq % SEQS_PER_XACT === SEQS_PER_XACT - 1;
}
