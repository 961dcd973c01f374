import pg from 'pg';
import { expect, test } from 'vitest';
import { testDatabase } from '../support/pg.ts';

test('the suite Postgres is real and gives each file its own database', async () => {
  const db = await testDatabase();
  const client = new pg.Client({ connectionString: db.url });
  await client.connect();
  const { rows } = await client.query('select current_database() as db, version() as v');
  await client.end();
  expect(rows[0].db).toBe(db.database);
  expect(rows[0].v).toMatch(/PostgreSQL (1[3-9]|[2-9]\d)/);
});
