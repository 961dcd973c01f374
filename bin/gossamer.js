#!/usr/bin/env -S node --max-semi-space-size=4
// Entry point of the `gossamer` command. The sources are TypeScript; `npm install` is the only
// set-up step. What runs is a bundle of them (src/boot/): checked against the sources at every
// start (a stat per file, a few ms) and rebuilt when any changed, so there is no build to
// forget or to go stale. Node loads it natively, which starts a node about a second sooner than
// running the sources through tsx — the fallback, and what GOSSAMER_NO_BUNDLE=1 asks for.
// The shebang's flag is PRIMARY_NODE_FLAGS (src/up/nodes.ts): a smaller young generation for a
// node's primary; proxy workers are forked with their own flags.
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { dropBundle, ensureBundle } from '../src/boot/bundle.mjs';
import { BUNDLE_IN_USE, EVALUATED } from '../src/boot/layout.mjs';

const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
const bundle = await ensureBundle(root);
if (bundle && (await runBundle(bundle))) {
  // ran
} else {
  const { register } = await import('tsx/esm/api');
  register();
  await import('../src/polyfill.ts');
  await import('../src/cli/main.ts');
}

/** false when the bundle failed to load before any of it ran (then tsx runs the command). */
async function runBundle(dir) {
  // Read by src/proxy/fork-worker.ts: workers run the bundle's worker entry.
  globalThis[Symbol.for(BUNDLE_IN_USE)] = dir;
  try {
    await import(pathToFileURL(path.join(dir, 'polyfill.mjs')).href);
    delete globalThis[Symbol.for(EVALUATED)];
    await import(pathToFileURL(path.join(dir, 'main.mjs')).href);
    return true;
  } catch (err) {
    // Once a bundled module ran, this is the command's own failure: never run it twice.
    if (globalThis[Symbol.for(EVALUATED)]) throw err;
    process.stderr.write(`gossamer: start-up bundle ${dir} failed to load (${err?.message ?? err}); running the TypeScript sources through tsx\n`);
    dropBundle(root, dir);
    delete globalThis[Symbol.for(BUNDLE_IN_USE)];
    return false;
  }
}
