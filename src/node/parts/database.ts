// The database part: Postgres, the source of truth of a traditional node and a control plane.
// A node refuses to start on an unreachable or empty database (a busy one is asked a few times).
import type pg from 'pg';
import { StartError } from '../../errors.ts';
import { assertBootstrapped, clusterSecret, createPool, describePgError, isBusyError, isConnectionError } from '../../db/index.ts';
import type { NodeContext } from '../context.ts';

export interface DatabasePart {
  /** The Admin API's connections: pg_pool_size − 1 (closed after 10 s idle). */
  pool: pg.Pool;
  /**
   * One connection for the node's own work: the safety-net poll, repairs and its cluster_nodes
   * row, one query at a time. An idle node holds only this one, and however many nodes poll or
   * repair at the same moment, each holds one: 50 nodes stay at 50 connections plus those of the
   * Admin API calls in flight (Postgres' default max_connections is 100, 97 for ordinary users).
   * With pg_pool_size = 1 both share the one connection.
   */
  background: pg.Pool;
  /** The cluster secret kept in the database (the private-network key of DB-mode nodes). */
  secret: string;
}

/**
 * A database that answers slowly or is busy (a connect timed out, too many connections, still
 * starting up) is asked again this many times in all before the node gives up; a refused port,
 * failed authentication or a missing database fail at once. Fifty nodes started eight at a time
 * on two cores lost one to a connect that took longer than pg_timeout.
 */
const START_ATTEMPTS = 4;

export async function startDatabasePart({ config, stops, log }: NodeContext): Promise<DatabasePart> {
  const shared = config.pg_pool_size <= 1;
  const name = `gossamer ${config.node_name ?? ''}`.trim();
  const pool = createPool({ ...config, pg_pool_size: shared ? 1 : config.pg_pool_size - 1, application_name: shared ? name : `${name} admin` });
  const background = shared ? pool : createPool({ ...config, pg_pool_size: 1, application_name: `${name} sync` });
  stops.push(() => pool.end());
  if (!shared) stops.push(() => background.end());
  const where = { host: config.pg_host, port: config.pg_port };
  for (let attempt = 1; ; attempt++) {
    try {
      await assertBootstrapped(background);
      return { pool, background, secret: await clusterSecret(background) };
    } catch (err) {
      if (!isConnectionError(err)) throw new StartError((err as Error).message);
      if (attempt >= START_ATTEMPTS || !isBusyError(err)) throw new StartError(describePgError(err, where));
      log.warn({ attempt, of: START_ATTEMPTS }, `${describePgError(err, where)}; trying again`);
      await new Promise((r) => setTimeout(r, 1000 * attempt));
    }
  }
}
