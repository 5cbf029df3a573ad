/** PostgreSQL over a pg connection pool (production, integration tests). */
import { finished } from 'node:stream/promises';
import pg from 'pg';
import { from as copyFromStdin } from 'pg-copy-streams';
import { AppError } from '../../../../src/shared/errors.js';
import { errorFields, type Logger } from '../log.js';
import type { Db, FramedCopy, Queryable, QueryOptions, QueryResult } from './db.js';

export interface PostgresOptions {
  connectionString: string;
  log: Logger;
  /** pool size; small by default — the server batches its writes */
  max?: number;
  /** longest wait for a free connection; then the caller gets a 503 `database_busy` (default 30 s) */
  waitMs?: number;
  /** a statement still running after this long is cancelled by the server, and a socket silent this long is given up (0 = never) */
  statementTimeoutMs?: number;
}

/** How long a client is told to wait when the database cannot be reached (a restart or failover takes seconds). */
const UNAVAILABLE_RETRY_AFTER_S = 5;
/** Connection-level failures (the server is down, restarting or unreachable): SQLSTATE class 08 and the shutdowns of 57P0x. */
const CONNECTION_SQLSTATES = /^(08...|57P01|57P02|57P03)$/;
const CONNECTION_ERRNOS = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN']);
const CONNECTION_MESSAGES =
  /connection terminated|connection timeout|query read timeout|client has encountered a connection error|not queryable/i;

/**
 * pg-pool's "no connection became free in time" (a burst larger than the pool can serve within waitMs). That is
 * overload, not a bug: the client is told to retry (503 + Retry-After), and nothing was written.
 */
function poolBusy(err: unknown): unknown {
  if (err instanceof AppError) return err;
  if (err instanceof Error && /timeout exceeded when trying to connect/i.test(err.message)) {
    return new AppError('database_busy', 'The server is too busy to answer now: retry in a moment', { status: 503, cause: err });
  }
  // The database is down or unreachable: the request was not carried out — say so and when to retry, never a 500.
  const code = (err as { code?: unknown } | null)?.code;
  if (
    err instanceof Error &&
    ((typeof code === 'string' && (CONNECTION_SQLSTATES.test(code) || CONNECTION_ERRNOS.has(code))) ||
      CONNECTION_MESSAGES.test(err.message))
  ) {
    return new AppError('database_unavailable', 'The database cannot be reached right now: retry in a moment', {
      status: 503,
      retryAfterS: UNAVAILABLE_RETRY_AFTER_S,
      cause: err,
    });
  }
  return err;
}

export async function openPostgres(options: PostgresOptions): Promise<Db> {
  const pool = new pg.Pool({
    connectionString: options.connectionString,
    max: options.max ?? 10,
    connectionTimeoutMillis: options.waitMs ?? 30_000,
    idleTimeoutMillis: 30_000,
    application_name: 'fleetdesk-server',
    // No request hangs on a dead socket or a stuck statement: the server cancels the statement, the client gives
    // up on a socket that stays silent (a cut network sends no RST).
    ...(options.statementTimeoutMs
      ? { statement_timeout: options.statementTimeoutMs, query_timeout: options.statementTimeoutMs + 1_000 }
      : {}),
  });
  // An idle client whose backend dies emits 'error' on the pool; unhandled, that would crash the process.
  pool.on('error', (err) => options.log.warn('idle PostgreSQL connection failed', errorFields(err)));
  // Fail fast at start with the real reason (bad host, missing database) instead of at the first request.
  const probe = await pool.connect();
  probe.release();

  const outer = wrap(pool);
  const listener = new NotificationListener(options.connectionString, options.log);
  return {
    backend: 'postgres',
    ...outer,
    transaction: (fn) =>
      inTransaction(pool, options.log, async (client) => {
        await client.query('BEGIN');
        const result = await fn(wrap(client));
        await client.query('COMMIT');
        return result;
      }),
    framedCopy: (step: FramedCopy) =>
      inTransaction(pool, options.log, async (client) => {
        // Scripts without parameters go by the simple query protocol: several statements in one round trip.
        await client.query(`begin;\n${step.before}`);
        await copyInto(client, step.copy, step.data);
        await client.query(`${step.after};\ncommit`);
      }),
    listen: (channel, handler) => listener.listen(channel, handler),
    async close() {
      await listener.close();
      await pool.end();
    },
  };
}

/** Runs `run` (which opens a transaction) on one pooled connection; any failure rolls back. */
async function inTransaction<T>(pool: pg.Pool, log: Logger, run: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect().catch((err: unknown) => {
    throw poolBusy(err);
  });
  let broken = false;
  // A checked-out client has no listener of pg-pool's: a connection lost between two statements would be an
  // uncaught 'error' and end the process. Here it fails this transaction only (its next statement rejects).
  const onLost = (err: Error) => {
    broken = true;
    log.warn('PostgreSQL connection lost inside a transaction', errorFields(err));
  };
  client.on('error', onLost);
  try {
    return await run(client);
  } catch (err) {
    await client.query('ROLLBACK').catch(() => {
      broken = true; // the connection itself is gone; do not return it to the pool
    });
    throw poolBusy(err);
  } finally {
    client.removeListener('error', onLost);
    client.release(broken);
  }
}

/** One dedicated connection for LISTEN (a pooled one could be handed to someone else); reconnects after a failure. */
class NotificationListener {
  private client: pg.Client | undefined;
  private connecting: Promise<pg.Client> | undefined;
  private readonly handlers = new Map<string, Set<(payload: string) => void>>();
  private retryTimer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(
    private readonly connectionString: string,
    private readonly log: Logger,
  ) {}

  async listen(channel: string, handler: (payload: string) => void): Promise<() => Promise<void>> {
    if (this.closed) throw new Error('database closed');
    let set = this.handlers.get(channel);
    const first = !set;
    if (!set) this.handlers.set(channel, (set = new Set()));
    set.add(handler);
    const client = await this.connect();
    if (first) await client.query(`listen ${quoteIdent(channel)}`);
    return async () => {
      const current = this.handlers.get(channel);
      if (!current?.delete(handler) || current.size > 0) return;
      this.handlers.delete(channel);
      if (this.client && !this.closed) await this.client.query(`unlisten ${quoteIdent(channel)}`).catch(() => undefined);
    };
  }

  private connect(): Promise<pg.Client> {
    if (this.client) return Promise.resolve(this.client);
    return (this.connecting ??= (async () => {
      const client = new pg.Client({ connectionString: this.connectionString, application_name: 'fleetdesk-server-listen' });
      client.on('notification', (msg) => {
        for (const h of this.handlers.get(msg.channel) ?? []) h(msg.payload ?? '');
      });
      client.on('error', (err) => {
        this.log.warn('PostgreSQL LISTEN connection failed; reconnecting', errorFields(err));
        this.dropClient(client);
      });
      client.on('end', () => this.dropClient(client));
      try {
        await client.connect();
        for (const channel of this.handlers.keys()) await client.query(`listen ${quoteIdent(channel)}`);
      } catch (err) {
        await client.end().catch(() => undefined);
        throw err;
      }
      this.client = client;
      return client;
    })().finally(() => (this.connecting = undefined)));
  }

  private dropClient(client: pg.Client): void {
    if (this.client !== client) return;
    this.client = undefined;
    client.end().catch(() => undefined);
    if (this.closed || this.handlers.size === 0 || this.retryTimer) return;
    const retry = () => {
      this.retryTimer = undefined;
      if (this.closed) return;
      this.connect().catch((err: unknown) => {
        this.log.warn('PostgreSQL LISTEN reconnect failed; retrying', errorFields(err));
        this.retryTimer = setTimeout(retry, 1_000);
        this.retryTimer.unref();
      });
    };
    this.retryTimer = setTimeout(retry, 500);
    this.retryTimer.unref();
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.retryTimer);
    await this.connecting?.catch(() => undefined);
    const client = this.client;
    this.client = undefined;
    this.handlers.clear();
    await client?.end().catch(() => undefined);
  }
}

function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

function wrap(target: pg.Pool | pg.PoolClient): Queryable {
  return {
    async copyFrom(sql: string, data: string | Buffer): Promise<number> {
      if (!(target instanceof pg.Pool)) return copyInto(target, sql, data);
      const client = await target.connect().catch((err: unknown) => {
        throw poolBusy(err);
      });
      let broken = false;
      // checked out: a lost connection must reject this COPY, not become an uncaught 'error' (see transaction)
      const onLost = () => {
        broken = true;
      };
      client.on('error', onLost);
      try {
        return await copyInto(client, sql, data);
      } catch (err) {
        // A failed COPY leaves the connection ready for the next query; only a dead one is not given back.
        broken ||= !(err instanceof Error && 'severity' in err);
        throw err;
      } finally {
        client.removeListener('error', onLost);
        client.release(broken);
      }
    },
    async query<T>(sql: string, params: readonly unknown[] = [], options?: QueryOptions): Promise<QueryResult<T>> {
      // (a text and its values when not prepared: pg copies a config object, property by property, on every call)
      const result = await (
        options?.prepared
          ? target.query({ name: options.prepared, text: sql, values: params as unknown[] })
          : target.query(sql, params as unknown[])
      ).catch((err: unknown) => {
        throw poolBusy(err);
      });
      return { rows: result.rows as T[], rowCount: result.rowCount ?? result.rows.length };
    },
    async exec(sql: string): Promise<void> {
      await target.query(sql).catch((err: unknown) => {
        throw poolBusy(err);
      }); // no parameters → simple query protocol, which allows several statements
    },
  };
}

/** One `COPY … FROM STDIN` on `client`: the whole input in one write; resolves once the server has committed it. */
async function copyInto(client: pg.PoolClient, sql: string, data: string | Buffer): Promise<number> {
  const stream = client.query(copyFromStdin(sql));
  stream.end(data);
  await finished(stream);
  return stream.rowCount;
}
