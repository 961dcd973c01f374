import pg from 'pg';

/** The Postgres settings of a node, under Kong's config key names. */
export interface PgOptions {
  pg_host: string;
  pg_port: number;
  pg_user: string;
  pg_password?: string | null;
  pg_database: string;
  pg_ssl?: boolean;
  /** Pool size: pg_pool_size of a node's config; one-off commands pass pg_max: 1. */
  pg_pool_size?: number;
  pg_max?: number;
  /** Connect timeout in ms (Kong's pg_timeout). */
  pg_timeout?: number;
  /** Client-side query timeout in ms: a hung server (SIGSTOP, partition) fails the query instead of hanging it. */
  pg_query_timeout?: number;
  /** Shown in pg_stat_activity: which node (and which of its pools) holds a connection. */
  application_name?: string;
}

export type Pool = pg.Pool;
export type PoolClient = pg.PoolClient;
export type Queryable = pg.Pool | pg.PoolClient;

const poolTargets = new WeakMap<pg.Pool, string>();

export function createPool(opts: PgOptions): pg.Pool {
  const pool = new pg.Pool({
    host: opts.pg_host,
    port: opts.pg_port,
    user: opts.pg_user,
    password: opts.pg_password ?? undefined,
    database: opts.pg_database,
    ssl: opts.pg_ssl ? { rejectUnauthorized: false } : undefined,
    // Nodes pass pg_pool_size from their config; other callers (tests, tools) keep the old 10.
    max: opts.pg_max ?? opts.pg_pool_size ?? 10,
    connectionTimeoutMillis: opts.pg_timeout ?? 5000,
    query_timeout: opts.pg_query_timeout ?? 15_000,
    idleTimeoutMillis: 10_000,
    application_name: opts.application_name,
  });
  // An idle client losing its server (Postgres restart) emits 'error' on the pool; without a
  // listener that would crash the node, and the next query reconnects anyway.
  pool.on('error', () => {});
  // pg-pool only listens for errors on idle clients: a client checked out (inside a
  // transaction, a snapshot read) when Postgres goes away would emit an unhandled 'error'
  // and kill the node. The query in flight rejects anyway, so the event itself can be dropped.
  pool.on('connect', (client) => {
    client.on('error', () => {});
  });
  poolTargets.set(pool, `${opts.pg_host}:${opts.pg_port}`);
  return pool;
}

/** host:port the pool talks to, for messages. */
export function poolTarget(pool: pg.Pool): string {
  return poolTargets.get(pool) ?? 'postgres';
}

const CONNECTION_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EPIPE',
  // Postgres SQLSTATEs: connection exceptions, shutting down, too many connections, auth, no db
  '08000',
  '08001',
  '08003',
  '08004',
  '08006',
  '57P01',
  '57P02',
  '57P03',
  '53300',
  '28P01',
  '28000',
  '3D000',
]);

/** True when the error means "the database cannot be reached or used", not "the query was bad". */
export function isConnectionError(err: unknown): boolean {
  if (!err || typeof err !== 'object') return false;
  const e = err as { code?: string; message?: string; errors?: unknown[] };
  if (e.code && CONNECTION_CODES.has(e.code)) return true;
  if (Array.isArray(e.errors) && e.errors.some(isConnectionError)) return true; // AggregateError (v4+v6)
  const m = e.message ?? '';
  return /timeout exceeded when trying to connect|Query read timeout|Connection terminated|connect ECONNREFUSED|Client has encountered a connection error|server closed the connection/i.test(m);
}

/**
 * A database that is there but slow or busy: a connect that timed out, too many connections, a
 * server still starting up. Worth asking again, unlike a refused port or bad credentials.
 */
export function isBusyError(err: unknown): boolean {
  const code = (err as { code?: string } | null)?.code;
  return code === '53300' || code === '57P03' || (isConnectionError(err) && describePgCause(err) === 'connection timed out');
}

/** The cause of a connection failure in a few words. */
export function describePgCause(err: unknown): string {
  if (!err || typeof err !== 'object') return String(err);
  const e = err as { code?: string; message?: string; errors?: unknown[] };
  const code = e.code ?? (Array.isArray(e.errors) ? (e.errors[0] as { code?: string })?.code : undefined);
  switch (code) {
    case 'ECONNREFUSED':
      return 'connection refused';
    case 'ETIMEDOUT':
      return 'connection timed out';
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return 'host not found';
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      return 'host unreachable';
    case 'ECONNRESET':
      return 'connection reset';
    case '28P01':
    case '28000':
      return `authentication failed (${firstLine(e.message)})`;
    case '3D000':
      return `database does not exist (${firstLine(e.message)})`;
    case '57P01':
    case '57P02':
    case '57P03':
      return 'the database server is shutting down or starting up';
    case '53300':
      return 'too many connections';
  }
  const m = firstLine(e.message);
  if (/Query read timeout/i.test(m)) return 'query timed out (server not answering)';
  if (/timeout/i.test(m)) return 'connection timed out';
  if (/terminated/i.test(m)) return 'connection terminated';
  return m || 'unknown error';
}

/** One line naming host:port and the cause, never a stack trace. */
export function describePgError(err: unknown, target: { host: string; port: number } | string): string {
  const where = typeof target === 'string' ? target : `${target.host}:${target.port}`;
  return `cannot connect to Postgres at ${where}: ${describePgCause(err)}`;
}

function firstLine(s: string | undefined): string {
  return (s ?? '').split('\n')[0]!.trim();
}
