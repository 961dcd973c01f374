export { loadConfig, redactedConfig, type LoadOptions, type LoadResult } from './load.ts';
export { keys, keyDef, type Config, type ConfigKey } from './schema.ts';
export type { HostPort, Listen, KeyDef } from './key.ts';
export { isLoopback } from './key.ts';
