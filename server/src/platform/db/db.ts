/**
 * The database seam: one small interface over PGlite (embedded) and PostgreSQL (pg Pool). Both speak the same
 * SQL; code above this line never knows which one it talks to.
 */
export type DbBackend = 'pglite' | 'postgres';

export interface QueryResult<T> {
  rows: T[];
  /** rows inserted/updated/deleted (or returned, for a select) */
  rowCount: number;
}

export interface QueryOptions {
  /**
   * PostgreSQL: prepare the statement once per connection under this name and run it from there on by name, with
   * its plan kept — for a statement run on every request of a hot path, whose parsing and planning would
   * otherwise cost more than running it. One name, one SQL text, for the life of the process. PGlite: ignored.
   */
  prepared?: string;
}

export interface Queryable {
  query<T = Record<string, unknown>>(sql: string, params?: readonly unknown[], options?: QueryOptions): Promise<QueryResult<T>>;
  /** Runs a script of one or more statements, without parameters (migrations). */
  exec(sql: string): Promise<void>;
  /**
   * PostgreSQL's bulk load, `COPY … FROM STDIN` with `data` as its input (text format;
   * `(format binary)`: with CopyBinaryWriter); resolves with the rows copied. One statement, atomic like any other.
   * Absent on PGlite, whose callers keep a parameterised path (it has no COPY FROM STDIN over a client protocol).
   */
  copyFrom?(sql: string, data: string | Buffer): Promise<number>;
}

/**
 * A bulk load framed by scripts, as one transaction on one connection in three round trips: `BEGIN` and `before`,
 * then the COPY with `data`, then `after` and `COMMIT` (scripts: statements without parameters). Any failure
 * rolls all of it back.
 */
export interface FramedCopy {
  before: string;
  copy: string;
  data: string | Buffer;
  after: string;
}

export interface Db extends Queryable {
  readonly backend: DbBackend;
  /**
   * Runs `fn` in one transaction: COMMIT when it resolves, ROLLBACK when it throws. Inside `fn` use only `tx` —
   * on PGlite (one connection) a call on the outer Db would wait for this transaction to end, i.e. forever.
   */
  transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T>;
  /** PostgreSQL only (like copyFrom): see FramedCopy. */
  framedCopy?(step: FramedCopy): Promise<void>;
  /**
   * LISTEN on `channel`: `handler(payload)` for every NOTIFY committed by anyone (this process or another server
   * instance). Resolves once listening; the returned function stops it. PGlite: in-process; PostgreSQL: one
   * dedicated connection per Db, re-established after a failure (notifications sent meanwhile are lost, so
   * listeners also poll now and then).
   */
  listen(channel: string, handler: (payload: string) => void): Promise<() => Promise<void>>;
  close(): Promise<void>;
}

/** Observes every statement's duration (metrics); kept out of the backends so both are measured alike. */
export type QueryObserver = (seconds: number, ok: boolean) => void;

export function observeQueries(db: Db, observe: QueryObserver): Db {
  const timed = (q: Queryable): Queryable => {
    const copyFrom = q.copyFrom?.bind(q);
    return {
      query: (sql, params, options) => time(observe, () => q.query(sql, params, options)),
      exec: (sql) => time(observe, () => q.exec(sql)),
      ...(copyFrom ? { copyFrom: (sql: string, data: string | Buffer) => time(observe, () => copyFrom(sql, data)) } : {}),
    };
  };
  const outer = timed(db);
  const framedCopy = db.framedCopy?.bind(db);
  return {
    backend: db.backend,
    query: outer.query,
    exec: outer.exec,
    ...(outer.copyFrom ? { copyFrom: outer.copyFrom } : {}),
    ...(framedCopy ? { framedCopy: (step: FramedCopy) => time(observe, () => framedCopy(step)) } : {}),
    transaction: (fn) => db.transaction((tx) => fn(timed(tx))),
    listen: (channel, handler) => db.listen(channel, handler),
    close: () => db.close(),
  };
}

async function time<T>(observe: QueryObserver, run: () => Promise<T>): Promise<T> {
  const started = performance.now();
  let ok = false;
  try {
    const result = await run();
    ok = true;
    return result;
  } finally {
    observe((performance.now() - started) / 1000, ok);
  }
}
