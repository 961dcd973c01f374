// The `gossamer` role and database of a local cluster, created on first run, and the schema
// brought up to date on every run (bootstrap when empty, pending migrations otherwise).
import pg from 'pg';
import { createPool, type PgOptions } from '../db/pool.ts';
import * as migrate from '../db/migrate.ts';

export interface UpDatabase {
  host: string;
  port: number;
  user: string;
  password: string;
  database: string;
}

function ident(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

/** Create the role and the database if missing (Kong tutorial step 1, done for the user). */
export async function ensureDatabase(superuser: { host: string; port: number; user: string; password: string }, db: UpDatabase): Promise<void> {
  const client = new pg.Client({ ...superuser, database: 'postgres' });
  await client.connect();
  try {
    const role = await client.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [db.user]);
    if (role.rowCount === 0) {
      await client.query(`CREATE ROLE ${ident(db.user)} LOGIN PASSWORD ${client.escapeLiteral(db.password)}`);
    }
    const exists = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [db.database]);
    if (exists.rowCount === 0) await client.query(`CREATE DATABASE ${ident(db.database)} OWNER ${ident(db.user)}`);
  } finally {
    await client.end().catch(() => {});
  }
}

/** What `gossamer migrations bootstrap` / `up` would do, as one step; returns a line for the user. */
export async function migrateDatabase(db: UpDatabase): Promise<string> {
  const opts: PgOptions = { pg_host: db.host, pg_port: db.port, pg_user: db.user, pg_password: db.password, pg_database: db.database, pg_max: 1 };
  const pool = createPool(opts);
  try {
    const s = await migrate.status(pool);
    if (!s.bootstrapped) {
      const r = await migrate.bootstrap(pool);
      return r.message;
    }
    const ran = await migrate.up(pool);
    return ran.length ? `database migrated (${ran.join(', ')})` : 'database is up to date';
  } finally {
    await pool.end().catch(() => {});
  }
}
