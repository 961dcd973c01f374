// A one-connection Postgres pool for a CLI command that runs and exits: it is always ended,
// and a connection failure becomes the one-line description every command prints.
import { createPool, describePgError, isConnectionError, type PgOptions, type Pool } from '../db/pool.ts';

export async function withCommandPool<T>(pg: PgOptions, run: (pool: Pool) => Promise<T>): Promise<T> {
  const pool = createPool({ ...pg, pg_max: 1 });
  try {
    return await run(pool);
  } catch (err) {
    throw isConnectionError(err) ? new Error(describePgError(err, { host: pg.pg_host, port: pg.pg_port })) : err;
  } finally {
    await pool.end().catch(() => {});
  }
}
