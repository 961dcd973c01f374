import type { Plugin } from 'esbuild';

/** Build a bundle of the sources under root into cacheDir, make it current, and return its directory. */
export function buildBundle(root: string, cacheDir: string): Promise<string>;
/** esbuild plugin: each source's import.meta.url written in as its own (see build.mjs). */
export function sourceUrls(): Plugin;
