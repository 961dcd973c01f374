// Builds the start-up bundle: our own sources (src/, and sim/ behind `gossamer sim`) bundled by
// esbuild into a few .mjs files that Node loads natively, without tsx's hooks thread and its
// per-import transform (about a second of a data plane's start). node_modules stay external.
// A build goes to a temporary directory, is renamed to a name of its own, and only then does
// current.json point to it: a process starting meanwhile sees the old bundle or the new one,
// never half of one, and concurrent builds (bundle.mjs lets one run at a time) only waste work.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { ENTRIES, EVALUATED } from './layout.mjs';
import { BUILD_FILES, readCurrent, statSources } from './stamp.mjs';
import { sweepBundles } from './sweep.mjs';


/**
 * Packages bundled in rather than loaded from node_modules: each is many small modules (zod
 * alone 95) that a proxy worker or a data plane loads before it serves, and Node's loader pays
 * per module. Pure JavaScript only, and only where every import is static: import() of a
 * bundled CommonJS package yields only its default export (prom-client, which workers.ts
 * imports lazily, stays external for that reason). Everything else stays external.
 */
const INLINE = new Set(['zod', 'commander', 'http-proxy']);
/**
 * The libp2p stack, bundled in too, import() of it included (all of it is ES modules, so a
 * chunk of it yields every export). It is about a thousand modules: loaded from node_modules
 * they cost every node ~0.6 s of CPU at start (~0.1 s bundled), which 50 nodes started together
 * on one host pay at once.
 */
const INLINE_ESM = /^(libp2p|@libp2p\/[^/]+|@chainsafe\/[^/]+|@multiformats\/[^/]+)$/;
const packageOf = (spec) => spec.split('/').slice(0, spec.startsWith('@') ? 2 : 1).join('/');

/** undefined: esbuild bundles the import; otherwise it stays external. */
function resolveBare(args) {
  const pkg = packageOf(args.path);
  if (INLINE_ESM.test(pkg)) return undefined;
  if (args.kind === 'dynamic-import') return { external: true };
  // What an inlined package imports is inlined too (esbuild leaves node's own modules external).
  if (args.importer.includes('/node_modules/') || INLINE.has(pkg)) return undefined;
  return { external: true };
}

function externals() {
  return {
    name: 'gossamer-externals',
    setup(b) {
      b.onResolve({ filter: /^[^./]/ }, resolveBare);
    },
  };
}

/**
 * import.meta.url in a bundled file would be the chunk's URL; every source that locates a file
 * from it (package.json, bin/gossamer.js, the simulator's report assets) expects its own. So
 * each source gets its original URL written in.
 */
export function sourceUrls() {
  return {
    name: 'gossamer-source-urls',
    setup(b) {
      b.onLoad({ filter: /\.ts$/ }, async (args) => {
        if (args.path.includes('/node_modules/')) return undefined;
        const text = await fs.promises.readFile(args.path, 'utf8');
        return { contents: text.replace(/\bimport\.meta\.url\b/g, JSON.stringify(pathToFileURL(args.path).href)), loader: 'ts' };
      });
    },
  };
}

/** Build a bundle of the sources under root into cacheDir, make it current, and return its directory. */
export async function buildBundle(root, cacheDir) {
  // Stat before building: a file saved while esbuild runs keeps its old stamp, so the next start rebuilds.
  const before = statSources(root);
  const esbuild = await import('esbuild');
  fs.mkdirSync(cacheDir, { recursive: true });
  const tmp = fs.mkdtempSync(path.join(cacheDir, 'tmp-'));
  try {
    const r = await esbuild.build({
      entryPoints: ENTRIES,
      absWorkingDir: root,
      outdir: tmp,
      bundle: true,
      // Without splitting, what main.ts imports lazily (pg, libp2p, the simulator) would load at start.
      splitting: true,
      format: 'esm',
      platform: 'node',
      target: 'node20',
      outExtension: { '.js': '.mjs' },
      // require() for the inlined CommonJS packages (prom-client, commander, http-proxy).
      banner: {
        js: `import { createRequire as __gossamerRequire } from 'node:module';\nconst require = __gossamerRequire(import.meta.url);\nglobalThis[Symbol.for(${JSON.stringify(EVALUATED)})] = true;`,
      },
      metafile: true,
      logLevel: 'silent',
      plugins: [externals(), sourceUrls()],
    });
    await esbuild.stop();
    const inputs = Object.keys(r.metafile.inputs);
    const own = [...new Set([...inputs.filter((f) => !f.includes('node_modules/')), ...BUILD_FILES])];
    // An inlined package is stamped by its package.json (npm rewrites it with the package).
    const packages = [...new Set(inputs.filter((f) => f.includes('node_modules/')).map((f) => f.replace(/^(.*node_modules\/(@[^/]+\/)?[^/]+)\/.*$/, '$1/package.json')))];
    const files = [
      ...own.map((f) => [f, ...(before.get(f) ?? [-1, -1])]),
      ...packages.map((f) => {
        const s = fs.statSync(path.join(root, f), { throwIfNoEntry: false });
        return [f, s?.mtimeMs ?? -1, s?.size ?? -1];
      }),
    ];
    // Never a name used before: a bundle found broken is replaced, not reused.
    const name = `b-${Date.now().toString(36)}-${crypto.randomBytes(4).toString('hex')}`;
    const dir = path.join(cacheDir, name);
    fs.mkdirSync(path.join(tmp, 'pids'));
    fs.renameSync(tmp, dir);
    switchCurrent(cacheDir, { dir: name, files });
    sweepBundles(cacheDir);
    return dir;
  } catch (err) {
    fs.rmSync(tmp, { recursive: true, force: true });
    throw err;
  }
}

function switchCurrent(cacheDir, current) {
  const old = readCurrent(cacheDir);
  const tmp = path.join(cacheDir, `current.json.${process.pid}.${crypto.randomBytes(4).toString('hex')}`);
  fs.writeFileSync(tmp, JSON.stringify(current));
  fs.renameSync(tmp, path.join(cacheDir, 'current.json'));
  // The sweeper's clock: a bundle is removed only a while after it stopped being current.
  if (!old || old.dir === current.dir) return;
  try {
    const marker = path.join(cacheDir, old.dir, 'retired');
    fs.writeFileSync(marker, '');
    fs.utimesSync(marker, new Date(), new Date());
  } catch {
    // already swept
  }
}
