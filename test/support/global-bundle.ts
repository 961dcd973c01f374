// vitest globalSetup: the start-up bundle (src/boot/) is made fresh once, before the test
// files spawn bin/gossamer.js by the dozen; otherwise the first few to start would all wait
// for one of them to rebuild it. Test files still import src/ directly.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensureBundle } from '../../src/boot/bundle.mjs';

export async function setup(): Promise<void> {
  await ensureBundle(path.resolve(fileURLToPath(new URL('../..', import.meta.url))));
}
