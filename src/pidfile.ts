// The pid file of the node running in a prefix: written by the composition root first thing,
// read by `gossamer stop` and `gossamer reload` (src/cli/start.ts) to signal that node.
import fs from 'node:fs';
import path from 'node:path';

export function pidFile(prefix: string): string {
  return path.join(prefix, 'pids', 'gossamer.pid');
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The pid of the node running in `prefix`, or null (a stale file from a crash counts as none). */
export function runningPid(prefix: string): number | null {
  try {
    const pid = Number(fs.readFileSync(pidFile(prefix), 'utf8').trim());
    return Number.isInteger(pid) && pid > 0 && isAlive(pid) ? pid : null;
  } catch {
    return null;
  }
}

export function writePid(prefix: string): void {
  const file = pidFile(prefix);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, `${process.pid}\n`);
}

export function removePid(prefix: string): void {
  try {
    if (Number(fs.readFileSync(pidFile(prefix), 'utf8').trim()) === process.pid) fs.rmSync(pidFile(prefix));
  } catch {
    /* already gone */
  }
}
