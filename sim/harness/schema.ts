// A fresh embedded Postgres made ready for nodes: the `gossamer` database, a config file naming
// it, and the schema bootstrapped by the real CLI (as an operator does), not by importing
// migrate.ts, so the harness exercises the command users run.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { EmbeddedPg } from '../../src/db/embedded.ts';

const BIN = fileURLToPath(new URL('../../bin/gossamer.js', import.meta.url));
const run = promisify(execFile);

/** Creates the database, writes `dir/db.conf` and runs `gossamer migrations bootstrap -c` on it; returns that file. */
export async function bootstrapSchema(dir: string, pg: EmbeddedPg): Promise<string> {
  await pg.createDatabase('gossamer');
  const dbConf = path.join(dir, 'db.conf');
  fs.writeFileSync(dbConf, [`pg_host = 127.0.0.1`, `pg_port = ${pg.port}`, `pg_user = ${pg.user}`, `pg_password = ${pg.password}`, `pg_database = gossamer`, ''].join('\n'));
  await run(process.execPath, [BIN, 'migrations', 'bootstrap', '-c', dbConf], { timeout: 60_000 }).catch((err) => {
    throw new Error(`migrations bootstrap (${dbConf}) failed: ${err.stderr || err.message}`);
  });
  return dbConf;
}
