// Types of bundle.mjs for the TypeScript that imports it (tests, the vitest global setup).
export function bundleDisabled(env?: NodeJS.ProcessEnv): boolean;
export function ensureBundle(root: string, opts?: { env?: NodeJS.ProcessEnv; log?: (msg: string) => void; waitMs?: number }): Promise<string | null>;
export function dropBundle(root: string, dir: string, env?: NodeJS.ProcessEnv): void;
