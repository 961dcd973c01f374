// In a benchmark variant bundled by bench-bundle.ts: proxy workers forked by it run the start-up
// bundle's worker entry, as a node's workers do (src/proxy/fork-worker.ts reads the marker).
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensureBundle } from '../../src/boot/bundle.mjs';
import { BUNDLE_IN_USE } from '../../src/boot/layout.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

export async function useStartupBundle(): Promise<void> {
  const dir = await ensureBundle(ROOT);
  if (dir) (globalThis as Record<symbol, unknown>)[Symbol.for(BUNDLE_IN_USE)] = dir;
}
