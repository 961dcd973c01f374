// cluster_events: one row per changed entity, written inside the entity's own transaction.
import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import type { ChangeEvent, EntityName } from '../entities/types.ts';

export interface NewEvent {
  entity: EntityName;
  op: ChangeEvent['op'];
  entity_id: string;
  cache_keys: string[];
  data: unknown | null;
  node_id: string | null;
}

/** A cluster_events row as the ChangeEvent it stands for (also used by the repair reads). */
export function rowToEvent(r: Record<string, unknown>): ChangeEvent {
  return {
    id: r.id as string,
    config_version: Number(r.config_version),
    channel: 'invalidations',
    entity: r.entity as EntityName,
    op: r.op as ChangeEvent['op'],
    entity_id: r.entity_id as string,
    cache_keys: (r.cache_keys as string[] | null) ?? [],
    data: r.data ?? null,
    node_id: (r.node_id as string | null) ?? null,
    at: r.created_at instanceof Date ? r.created_at.getTime() : Date.now(),
  };
}

/** Insert one event with the next config_version. Must run on the writing transaction's client. */
export async function writeEvent(client: pg.PoolClient, e: NewEvent): Promise<ChangeEvent> {
  const { rows } = await client.query(
    `INSERT INTO cluster_events (id, config_version, channel, entity, op, entity_id, cache_keys, data, node_id, created_at)
     VALUES ($1, nextval('config_version_seq'), 'invalidations', $2, $3, $4, $5::text[], $6::jsonb, $7::uuid, clock_timestamp())
     RETURNING *`,
    [randomUUID(), e.entity, e.op, e.entity_id, e.cache_keys, e.data === null ? null : JSON.stringify(e.data), e.node_id],
  );
  return rowToEvent(rows[0]);
}

/** Events with config_version > `version`, oldest first (gap repair, polling safety net). */
export async function eventsSince(pool: pg.Pool | pg.PoolClient, version: number, limit = 1000): Promise<ChangeEvent[]> {
  const { rows } = await pool.query(
    'SELECT * FROM cluster_events WHERE config_version > $1 ORDER BY config_version LIMIT $2',
    [version, limit],
  );
  return rows.map(rowToEvent);
}

/** The highest committed config_version (0 on an empty log). */
export async function latestConfigVersion(pool: pg.Pool | pg.PoolClient): Promise<number> {
  const { rows } = await pool.query('SELECT COALESCE(MAX(config_version), 0) AS v FROM cluster_events');
  return Number(rows[0].v);
}
