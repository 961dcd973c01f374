// Old start-up bundles: a running process may import one of its chunks long after it started
// (a plugin's handler when a route first uses it, the simulator's checker), so a bundle stays
// while a process that started from it lives. Each process notes its pid in the bundle it
// runs; a bundle is removed once it has not been current for a while and none of those lives.
import fs from 'node:fs';
import path from 'node:path';
import { readCurrent } from './stamp.mjs';

/** How long a retired bundle stays: covers a process that read current.json just before the switch. */
const GRACE_MS = 60_000;
/** What a process that died while building (or sweeping) left. */
const ABANDONED_MS = 10 * 60_000;

function alive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return err.code === 'EPERM';
  }
}

/** Record that this process runs the bundle in dir (until it exits). */
export function registerUse(dir) {
  const mark = path.join(dir, 'pids', String(process.pid));
  try {
    fs.writeFileSync(mark, '');
    process.once('exit', () => fs.rmSync(mark, { force: true }));
  } catch {
    // A read-only install: nothing sweeps there either.
  }
}

function inUse(dir) {
  try {
    return fs.readdirSync(path.join(dir, 'pids')).some((p) => alive(Number(p)));
  } catch {
    return false;
  }
}

function ageMs(file, now) {
  const s = fs.statSync(file, { throwIfNoEntry: false });
  return s ? now - s.mtimeMs : 0;
}

/** Remove retired bundles nobody runs and abandoned builds; errors are ignored (another sweeper won). */
export function sweepBundles(cacheDir, now = Date.now()) {
  const current = readCurrent(cacheDir)?.dir;
  for (const name of fs.readdirSync(cacheDir)) {
    const dir = path.join(cacheDir, name);
    let doomed = false;
    if (name.startsWith('b-') && name !== current) doomed = ageMs(path.join(dir, 'retired'), now) > GRACE_MS && !inUse(dir);
    else if (/^(tmp-|trash-|current\.json\.)/.test(name)) doomed = ageMs(dir, now) > ABANDONED_MS;
    if (!doomed) continue;
    try {
      // Renamed first, so no process can find it half-deleted under its own name.
      const trash = path.join(cacheDir, `trash-${name}-${process.pid}`);
      fs.renameSync(dir, trash);
      fs.rmSync(trash, { recursive: true, force: true });
    } catch {
      // swept by another process
    }
  }
}
