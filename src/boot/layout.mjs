// Names shared by the bundle's builder, bin/gossamer.js and the code that forks workers.
import path from 'node:path';

/** Entry points, named as the files bin/gossamer.js and src/proxy/fork-worker.ts load. */
export const ENTRIES = { main: 'src/cli/main.ts', 'worker-main': 'src/proxy/worker-main.ts', polyfill: 'src/polyfill.ts' };
/** Set by the first line of every bundled file: tells a bundle that failed to link from a command that failed. */
export const EVALUATED = 'gossamer.bundle.evaluated';
/** globalThis[Symbol.for(BUNDLE_IN_USE)] holds the directory of the bundle this process runs. */
export const BUNDLE_IN_USE = 'gossamer.bundle';

export function cacheDirOf(root, env = process.env) {
  return env.GOSSAMER_BUNDLE_DIR || path.join(root, 'node_modules', '.cache', 'gossamer');
}
