// The start-up bundle's freshness: which source files it was built from, each with the mtime
// and size it had when the build began. Plain JavaScript: bin/gossamer.js runs this before any
// TypeScript can load. A check is one small JSON read and a stat per input (a few ms).
import fs from 'node:fs';
import path from 'node:path';

/** Folders whose files may be bundled (everything main.ts and worker-main.ts import). */
export const SOURCE_DIRS = ['src', 'sim'];
/** Files that change what a build produces without being imported. */
export const BUILD_FILES = ['package.json', 'tsconfig.json', 'src/boot/build.mjs', 'src/boot/layout.mjs'];

/** @returns {[number, number] | null} */
function statOf(file) {
  const s = fs.statSync(file, { throwIfNoEntry: false });
  return s ? [s.mtimeMs, s.size] : null;
}

/** mtime and size of every file under SOURCE_DIRS plus BUILD_FILES, keyed by path from root. */
export function statSources(root) {
  /** @type {Map<string, [number, number]>} */
  const out = new Map();
  const walk = (rel) => {
    for (const e of fs.readdirSync(path.join(root, rel), { withFileTypes: true })) {
      const r = `${rel}/${e.name}`;
      if (e.isDirectory()) walk(r);
      else if (e.isFile()) out.set(r, statOf(path.join(root, r)));
    }
  };
  for (const d of SOURCE_DIRS) if (fs.existsSync(path.join(root, d))) walk(d);
  for (const f of BUILD_FILES) {
    const s = statOf(path.join(root, f));
    if (s) out.set(f, s);
  }
  return out;
}

/**
 * The pointer to the bundle in use: `{ dir, files: [[path, mtimeMs, size], ...] }`, replaced
 * atomically (rename) after the bundle directory is complete; null when absent or unreadable.
 */
export function readCurrent(cacheDir) {
  try {
    const cur = JSON.parse(fs.readFileSync(path.join(cacheDir, 'current.json'), 'utf8'));
    return typeof cur?.dir === 'string' && Array.isArray(cur.files) ? cur : null;
  } catch {
    return null;
  }
}

/** The first input that differs from the stamp (its path), or null when the bundle is fresh. */
export function staleInput(root, current) {
  for (const [file, mtime, size] of current.files) {
    const s = statOf(path.join(root, file));
    if (!s || s[0] !== mtime || s[1] !== size) return file;
  }
  return null;
}
