// One `gossamer up` per directory: ./.gossamer/up.json holds the running launcher's pid and
// ports, so a second `up` can say "already running" (and where) instead of tripping over a
// busy port, and an `up` after a crash can find the processes the dead one left behind.
import fs from 'node:fs';
import path from 'node:path';

export interface UpLockInfo {
  pid: number;
  startedAt: string;
  balancerUrl: string;
  /** Child processes (nodes, Postgres) to clean up if this launcher died without doing so. */
  children: number[];
}

/** A live process; a zombie (exited, not yet reaped by its parent) counts as dead. */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return true; // no /proc (macOS): trust kill(0)
  }
}

export function lockPath(dir: string): string {
  return path.join(dir, 'up.json');
}

export function readLock(dir: string): UpLockInfo | null {
  try {
    return JSON.parse(fs.readFileSync(lockPath(dir), 'utf8')) as UpLockInfo;
  } catch {
    return null;
  }
}

export type AcquireResult = { ok: true; stale: UpLockInfo | null } | { ok: false; running: UpLockInfo };

/**
 * Take the lock. A lock whose pid is dead is stale: it is replaced and returned so the caller
 * can clean up after the crashed run. `wx` makes two launchers racing for it see each other.
 */
export function acquireLock(dir: string, info: UpLockInfo): AcquireResult {
  fs.mkdirSync(dir, { recursive: true });
  const file = lockPath(dir);
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      fs.writeFileSync(file, JSON.stringify(info, null, 2), { flag: 'wx' });
      return { ok: true, stale: null };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const current = readLock(dir);
    if (current && current.pid !== info.pid && isAlive(current.pid)) return { ok: false, running: current };
    fs.rmSync(file, { force: true });
    if (current) {
      fs.writeFileSync(file, JSON.stringify(info, null, 2), { flag: 'wx' });
      return { ok: true, stale: current };
    }
  }
  throw new Error(`cannot take the lock ${file}`);
}

export function updateLock(dir: string, info: UpLockInfo): void {
  fs.writeFileSync(lockPath(dir), JSON.stringify(info, null, 2));
}

export function releaseLock(dir: string, pid = process.pid): void {
  const current = readLock(dir);
  if (current?.pid === pid) fs.rmSync(lockPath(dir), { force: true });
}

/** Command line of a live process, to make sure a recorded pid was not reused by something else. */
export function commandLine(pid: number): string {
  try {
    return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
  } catch {
    return '';
  }
}
