// The real declarative files of test/declarative/fixtures/ (README.md there) through a real
// Postgres and the real CLI: each imports unchanged with `config db_import`, its export by
// `db_export` imports into an empty database as the same configuration, and a second export
// is the same text. The DB-less side (declarative_config, POST /config) is in test/dbless/.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { loadSnapshot } from '../../src/db/snapshot.ts';
import type { ConfigSnapshot } from '../../src/entities/types.ts';
import { snapshotFromText } from '../../src/declarative/build.ts';
import { stableStringify } from '../../src/cache/config-hash.ts';
import { runCli } from '../support/cli.ts';
import { testDatabase } from '../support/pg.ts';

const FIXTURES_DIR = path.join(import.meta.dirname, 'fixtures');
const FIXTURES = fs.readdirSync(FIXTURES_DIR).filter((f) => /\.ya?ml$|\.json$/.test(f));

let dir: string;
const pools: pg.Pool[] = [];

async function database(name: string): Promise<{ conf: string; pool: pg.Pool }> {
  const db = await testDatabase(name);
  const conf = path.join(dir, `${name}.conf`);
  fs.writeFileSync(conf, Object.entries(db.conf).map(([k, v]) => `${k} = ${v}`).join('\n') + '\n');
  const boot = await runCli(['migrations', 'bootstrap', '-c', conf]);
  expect(boot.code, boot.stderr).toBe(0);
  const pool = new pg.Pool({ host: db.host, port: db.port, user: db.user, password: db.password, database: db.database, max: 2 });
  pools.push(pool);
  return { conf, pool };
}

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gossamer-fixtures-'));
});

afterAll(async () => {
  await Promise.all(pools.map((p) => p.end()));
  fs.rmSync(dir, { recursive: true, force: true });
});

/** Entities without timestamps nor ids (db_import gives random ids), in a stable order. */
function shape(s: ConfigSnapshot): Record<string, unknown[]> {
  const out: Record<string, unknown[]> = {};
  for (const [k, v] of Object.entries(s)) {
    if (!Array.isArray(v) || v.length === 0) continue;
    out[k] = (v as Record<string, unknown>[])
      .map((e) => Object.fromEntries(Object.entries(e).filter(([f, x]) => !['id', 'created_at', 'updated_at'].includes(f) && !(x && typeof x === 'object' && 'id' in x))))
      .map((e) => stableStringify(e))
      .sort();
  }
  return out;
}

describe.each(FIXTURES.map((f, i) => [f, i] as const))('%s', (name, i) => {
  test('imports unchanged, and its export imports into an empty database as the same configuration', async () => {
    const file = path.join(FIXTURES_DIR, name);
    const a = await database(`fx_a${i}`);
    const imp = await runCli(['config', 'db_import', file, '-c', a.conf]);
    expect(imp.code, imp.stderr).toBe(0);
    const imported = await loadSnapshot(a.pool);
    // What the database holds is what the file says, as a DB-less node reads it.
    expect(shape(imported)).toEqual(shape(snapshotFromText(fs.readFileSync(file, 'utf8'))));

    const out = path.join(dir, `${name}.export.yml`);
    const exp = await runCli(['config', 'db_export', out, '-c', a.conf]);
    expect(exp.code, exp.stderr).toBe(0);
    const b = await database(`fx_b${i}`);
    const again = await runCli(['config', 'db_import', out, '-c', b.conf]);
    expect(again.code, again.stderr).toBe(0);
    const strip = (s: ConfigSnapshot) => JSON.parse(stableStringify(JSON.parse(JSON.stringify(s, (k, v) => (k === 'created_at' || k === 'updated_at' ? undefined : v)))));
    expect(strip(await loadSnapshot(b.pool))).toEqual(strip(imported));
    const second = await runCli(['config', 'db_export', '-', '-c', b.conf]);
    expect(second.stdout).toBe(fs.readFileSync(out, 'utf8'));
  }, 120_000);
});
