// Numbered schema migrations, recorded in schema_migrations (Kong's `kong migrations` model:
// bootstrap creates everything on an empty database, up applies what is pending). Core's
// migrations create core's tables and run first; each plugin's follow, recorded under the
// plugin's name (`<plugin>:000_base`, see src/plugins/registry.ts). Plugins' tables were core
// migrations before (001 and 004 in databases bootstrapped then): those ledger rows stay, and
// the plugins' own migrations are idempotent, so `up` records them there without changing
// anything.
import { randomBytes } from 'node:crypto';
import type pg from 'pg';
import { migration as m001 } from './migrations/001_core_entities.ts';
import { migration as m002 } from './migrations/002_cluster.ts';
import { migration as m003 } from './migrations/003_cluster_events_txid.ts';
// 004 is taken by an older release's migration (see the comment above).
import { migration as m005 } from './migrations/005_tls_entities.ts';
import type { Migration } from './migration.ts';
import { pluginEntities, pluginMigrations } from '../plugins/registry.ts';

export type { Migration } from './migration.ts';

export const migrations: Migration[] = [m001, m002, m003, m005, ...pluginMigrations()];

export interface MigrationStatus {
  bootstrapped: boolean;
  executed: string[];
  pending: string[];
}

export interface BootstrapResult {
  alreadyBootstrapped: boolean;
  executed: string[];
  message: string;
}

/** Serialises concurrent bootstrap/up runs (several nodes of `gossamer up` start together). */
const LOCK_KEY = 0x6f55a3e1;

/** Children before parents; the plugins' tables first (their rows belong to core's). */
const TABLES = [
  ...pluginEntities()
    .map((d) => d.name)
    .reverse(),
  'plugins',
  'targets',
  'routes',
  'services',
  'consumers',
  'upstreams',
  'snis',
  'certificates',
  'ca_certificates',
  'cluster_events',
  'cluster_nodes',
  'cluster_settings',
  'schema_migrations',
];

/**
 * The order migrations run in: core's by number (with any an older release recorded, such as
 * the 004 that created tables now owned by plugins), then the plugins' in registry order.
 */
function byRunOrder(a: string, b: string): number {
  const plugin = (n: string) => n.includes(':');
  if (plugin(a) !== plugin(b)) return plugin(a) ? 1 : -1;
  if (!plugin(a)) return a < b ? -1 : a > b ? 1 : 0;
  return migrations.findIndex((m) => m.name === a) - migrations.findIndex((m) => m.name === b);
}

async function hasMigrationsTable(q: pg.Pool | pg.PoolClient): Promise<boolean> {
  const { rows } = await q.query(`SELECT to_regclass('schema_migrations') IS NOT NULL AS present`);
  return rows[0].present === true;
}

export async function status(pool: pg.Pool): Promise<MigrationStatus> {
  if (!(await hasMigrationsTable(pool))) {
    return { bootstrapped: false, executed: [], pending: migrations.map((m) => m.name) };
  }
  const { rows } = await pool.query<{ name: string }>('SELECT name FROM schema_migrations ORDER BY name');
  const executed = rows.map((r) => r.name).sort(byRunOrder);
  const done = new Set(executed);
  return { bootstrapped: true, executed, pending: migrations.filter((m) => !done.has(m.name)).map((m) => m.name) };
}

async function inLockedTransaction<T>(pool: pg.Pool, fn: (c: pg.PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    await client.query('SELECT pg_advisory_xact_lock($1)', [LOCK_KEY]);
    const out = await fn(client);
    await client.query('COMMIT');
    return out;
  } catch (err) {
    await client.query('ROLLBACK').catch(() => {});
    throw err;
  } finally {
    client.release();
  }
}

async function runPending(client: pg.PoolClient, executed: Set<string>): Promise<string[]> {
  const ran: string[] = [];
  for (const m of migrations) {
    if (executed.has(m.name)) continue;
    try {
      await client.query(m.up);
    } catch (err) {
      throw new Error(`migration ${m.name} failed: ${(err as Error).message}`);
    }
    await client.query('INSERT INTO schema_migrations (name) VALUES ($1)', [m.name]);
    ran.push(m.name);
  }
  return ran;
}

/** Create the whole schema on an empty database. On a bootstrapped one, change nothing. */
export async function bootstrap(pool: pg.Pool): Promise<BootstrapResult> {
  return inLockedTransaction(pool, async (client) => {
    if (await hasMigrationsTable(client)) {
      return { alreadyBootstrapped: true, executed: [], message: 'database already bootstrapped' };
    }
    await client.query(`CREATE TABLE schema_migrations (name text PRIMARY KEY, executed_at timestamptz NOT NULL DEFAULT now())`);
    const executed = await runPending(client, new Set());
    // The cluster's libp2p private-network key: every node of this database shares it.
    await client.query(`INSERT INTO cluster_settings (key, value) VALUES ('cluster_secret', $1)`, [randomBytes(32).toString('hex')]);
    return { alreadyBootstrapped: false, executed, message: `database bootstrapped (${executed.length} migrations)` };
  });
}

/** Apply pending migrations. Refuses on a database that was never bootstrapped. */
export async function up(pool: pg.Pool): Promise<string[]> {
  return inLockedTransaction(pool, async (client) => {
    if (!(await hasMigrationsTable(client))) throw new NotBootstrappedError();
    const { rows } = await client.query<{ name: string }>('SELECT name FROM schema_migrations');
    return runPending(client, new Set(rows.map((r) => r.name)));
  });
}

/** Drop every gossamer table and sequence. */
export async function reset(pool: pg.Pool): Promise<void> {
  await inLockedTransaction(pool, async (client) => {
    for (const t of TABLES) await client.query(`DROP TABLE IF EXISTS ${t} CASCADE`);
    await client.query('DROP SEQUENCE IF EXISTS config_version_seq');
  });
}

export class NotBootstrappedError extends Error {
  constructor(detail = 'the database has not been bootstrapped') {
    super(`${detail}; run 'gossamer migrations bootstrap'`);
    this.name = 'NotBootstrappedError';
  }
}

/** For `gossamer start`: throw unless the schema exists and is current. */
export async function assertBootstrapped(pool: pg.Pool): Promise<void> {
  const s = await status(pool);
  if (!s.bootstrapped) throw new NotBootstrappedError();
  if (s.pending.length > 0) {
    throw new Error(`the database has pending migrations (${s.pending.join(', ')}); run 'gossamer migrations up'`);
  }
}

/** The cluster's private-network key, written by bootstrap. */
export async function clusterSecret(pool: pg.Pool): Promise<string> {
  const { rows } = await pool.query(`SELECT value FROM cluster_settings WHERE key = 'cluster_secret'`);
  if (!rows[0]) throw new NotBootstrappedError('no cluster_secret in cluster_settings');
  return rows[0].value as string;
}
