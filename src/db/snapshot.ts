// The whole configuration at one config_version, read in one REPEATABLE READ transaction so
// the entities and the version belong to the same instant.
import type pg from 'pg';
import { entities, ENTITY_ORDER } from '../entities/index.ts';
import type { ConfigSnapshot } from '../entities/types.ts';
import { rowToEntity } from './rows.ts';
import { withTransaction } from './tx.ts';

export async function loadSnapshot(pool: pg.Pool): Promise<ConfigSnapshot> {
  return withTransaction(
    pool,
    async (client) => {
      const { rows } = await client.query('SELECT COALESCE(MAX(config_version), 0) AS v FROM cluster_events');
      const snap: Record<string, unknown> = { config_version: Number(rows[0].v) };
      for (const name of ENTITY_ORDER) {
        const res = await client.query(`SELECT * FROM ${name} ORDER BY id`);
        snap[name] = res.rows.map((r) => rowToEntity(entities[name], r));
      }
      return snap as unknown as ConfigSnapshot;
    },
    'BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY',
  );
}
