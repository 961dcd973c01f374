// The database part: Postgres, the source of truth of a traditional node and a control plane.
// A node refuses to start on an unreachable or empty database.
import type pg from 'pg';
import { StartError } from '../../errors.ts';
import { assertBootstrapped, clusterSecret, createPool, describePgError, isConnectionError } from '../../db/index.ts';
import type { NodeContext } from '../context.ts';

export interface DatabasePart {
  pool: pg.Pool;
  /** The cluster secret kept in the database (the private-network key of DB-mode nodes). */
  secret: string;
}

export async function startDatabasePart({ config, stops }: NodeContext): Promise<DatabasePart> {
  const pool = createPool(config);
  stops.push(() => pool.end());
  try {
    await assertBootstrapped(pool);
    return { pool, secret: await clusterSecret(pool) };
  } catch (err) {
    if (isConnectionError(err)) throw new StartError(describePgError(err, { host: config.pg_host, port: config.pg_port }));
    throw new StartError((err as Error).message);
  }
}
