// Which code bin/gossamer.js runs: the start-up bundle when it is built from the current
// sources (rebuilt here when it is not), or null for the TypeScript sources through tsx
// (GOSSAMER_NO_BUNDLE=1, or the bundle cannot be built: one log line says why).
import fs from 'node:fs';
import path from 'node:path';
import { cacheDirOf } from './layout.mjs';
import { readCurrent, staleInput } from './stamp.mjs';
import { registerUse } from './sweep.mjs';

/** A build that takes longer than this is presumed dead (its process was killed or froze). */
const LOCK_STALE_MS = 120_000;

export function bundleDisabled(env = process.env) {
  return Boolean(env.GOSSAMER_NO_BUNDLE) && env.GOSSAMER_NO_BUNDLE !== '0';
}

/** One build at a time per cache: processes started together wait for it instead of each building. */
function takeLock(lock) {
  try {
    fs.writeFileSync(lock, String(process.pid), { flag: 'wx' });
    return true;
  } catch (err) {
    if (err.code !== 'EEXIST') throw err;
  }
  try {
    const holder = Number(fs.readFileSync(lock, 'utf8'));
    const age = Date.now() - fs.statSync(lock).mtimeMs;
    // Empty for a moment after the holder created it: presumed alive until LOCK_STALE_MS.
    let holderAlive = true;
    if (holder > 0) {
      try {
        process.kill(holder, 0);
      } catch (err) {
        holderAlive = err.code === 'EPERM';
      }
    }
    // A dead holder's lock is taken over by renaming it away (only one process wins that).
    if (!holderAlive || age > LOCK_STALE_MS) {
      fs.renameSync(lock, `${lock}.${process.pid}.stale`);
      fs.rmSync(`${lock}.${process.pid}.stale`, { force: true });
    }
  } catch {
    // gone or taken meanwhile: try again next round
  }
  return false;
}

/**
 * The directory of a fresh bundle of root's sources (built now when needed), registered as in
 * use by this process; null to run through tsx. Never throws.
 */
export async function ensureBundle(root, { env = process.env, log = (msg) => process.stderr.write(`${msg}\n`), waitMs = 120_000 } = {}) {
  if (bundleDisabled(env)) return null;
  const cacheDir = cacheDirOf(root, env);
  const lock = path.join(cacheDir, 'build.lock');
  const deadline = Date.now() + waitMs;
  try {
    for (;;) {
      const cur = readCurrent(cacheDir);
      if (cur && staleInput(root, cur) === null) return use(path.join(cacheDir, cur.dir));
      fs.mkdirSync(cacheDir, { recursive: true });
      if (takeLock(lock)) {
        try {
          const again = readCurrent(cacheDir);
          if (again && staleInput(root, again) === null) return use(path.join(cacheDir, again.dir));
          const { buildBundle } = await import('./build.mjs');
          return use(await buildBundle(root, cacheDir));
        } finally {
          fs.rmSync(lock, { force: true });
        }
      }
      if (Date.now() > deadline) throw new Error(`another process (${lock}) has been building it for over ${waitMs} ms`);
      await new Promise((r) => setTimeout(r, 50));
    }
  } catch (err) {
    log(`gossamer: start-up bundle unavailable in ${cacheDir} (${err?.message ?? err}); running the TypeScript sources through tsx`);
    return null;
  }
}

function use(dir) {
  registerUse(dir);
  return dir;
}

/** Make the next start rebuild: a bundle that failed to load is not used again. */
export function dropBundle(root, dir, env = process.env) {
  const cacheDir = cacheDirOf(root, env);
  if (readCurrent(cacheDir)?.dir === path.basename(dir)) fs.rmSync(path.join(cacheDir, 'current.json'), { force: true });
}
