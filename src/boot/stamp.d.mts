// Types of stamp.mjs.
export const SOURCE_DIRS: string[];
export const BUILD_FILES: string[];
export interface CurrentBundle {
  dir: string;
  files: [path: string, mtimeMs: number, size: number][];
}
export function statSources(root: string): Map<string, [number, number]>;
export function readCurrent(cacheDir: string): CurrentBundle | null;
export function staleInput(root: string, current: CurrentBundle): string | null;
