// Types of layout.mjs.
export const ENTRIES: Record<'main' | 'worker-main' | 'polyfill', string>;
export const EVALUATED: string;
export const BUNDLE_IN_USE: string;
export function cacheDirOf(root: string, env?: NodeJS.ProcessEnv): string;
