// Benchmark variants run as shipped. Under tsx a variant is not the code a node runs: tsx builds
// with esbuild's keepNames, which wraps every function a request creates in a naming call, and
// loads through its hooks; `gossamer start` runs the esbuild bundle made by src/boot/build.mjs,
// without either. Each Node variant script (the bare proxies as well as gossamer's) is bundled
// here with the same settings, so the ratios compare like with like (workers forked by a
// variant run the start-up bundle's worker entry, as a node's do: startup-bundle.ts).
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { sourceUrls } from '../../src/boot/build.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
/** Inside the repository, so the bundle's external imports resolve from its node_modules. */
const OUT = path.join(ROOT, 'node_modules', '.cache', 'gossamer-bench');

/** `file` bundled to an .mjs that plain `node` runs; node_modules packages stay external. */
export async function bundleVariant(file: string): Promise<string> {
  const esbuild = await import('esbuild');
  fs.mkdirSync(OUT, { recursive: true });
  const out = path.join(OUT, `${path.basename(file, '.ts')}-${process.pid}.mjs`);
  await esbuild.build({
    entryPoints: [file],
    outfile: out,
    bundle: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    packages: 'external',
    banner: { js: "import { createRequire as __benchRequire } from 'node:module';\nconst require = __benchRequire(import.meta.url);" },
    logLevel: 'silent',
    plugins: [sourceUrls()],
  });
  return out;
}
