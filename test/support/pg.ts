import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { inject } from 'vitest';

export interface TestDatabase {
  host: string;
  port: number;
  user: string;
  password: string;
  database: string;
  url: string;
  /** Settings in gossamer's own config-key form, to spread into a node's config. */
  conf: { pg_host: string; pg_port: number; pg_user: string; pg_password: string; pg_database: string };
}

/** A fresh, empty database on the suite's Postgres (see global-pg.ts). */
export async function testDatabase(prefix = 't'): Promise<TestDatabase> {
  const base = new URL(inject('pgUrl'));
  const database = `${prefix}_${randomBytes(5).toString('hex')}`;
  const host = base.hostname;
  const port = Number(base.port || 5432);
  const user = decodeURIComponent(base.username);
  const password = decodeURIComponent(base.password);
  const admin = new pg.Client({ host, port, user, password, database: 'postgres' });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${database}`);
  await admin.end();
  return {
    host,
    port,
    user,
    password,
    database,
    url: `postgres://${base.username}:${base.password}@${host}:${port}/${database}`,
    conf: { pg_host: host, pg_port: port, pg_user: user, pg_password: password, pg_database: database },
  };
}
