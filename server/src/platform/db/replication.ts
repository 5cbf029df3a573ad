/**
 * Replication checkpoints are server sequence numbers (ARCHITECTURE.md). A writer that gives rows a
 * `server_seq` (nextval('replication_seq')) first takes this transaction-scoped lock: writers are serialized,
 * so sequence order equals commit order and a reader never skips a row that committed after a later one.
 */
import type { Queryable } from './db.js';

const REPLICATION_LOCK_KEY = 7_346_150_002;

export async function lockReplicationSequence(tx: Queryable): Promise<void> {
  await tx.query('select pg_advisory_xact_lock($1::bigint)', [REPLICATION_LOCK_KEY]);
}
