// Types of sweep.mjs.
export function registerUse(dir: string): void;
export function sweepBundles(cacheDir: string, now?: number): void;
