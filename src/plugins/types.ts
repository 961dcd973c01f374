// The interface every bundled plugin implements (Kong's handler.lua, as TypeScript).
// A handler builds one instance per configured plugin entity when the configuration is
// compiled, so per-request work is only what the phase itself needs.
import type { Logger } from 'pino';
import type { EntityStore } from '../cache/entity-store.ts';
import type { Plugin } from '../entities/types.ts';
import type { PluginInstance } from '../proxy/context.ts';

export type { PluginInstance } from '../proxy/context.ts';

/** Counters shared by a node's workers (rate limiting); see src/proxy/counters.ts. */
export interface CounterStore {
  /** Current count of `key` in the window ending at `expiresAt` (ms epoch). */
  get(key: string, expiresAt: number): number;
  /** Add `by` and return the new count. */
  incr(key: string, expiresAt: number, by: number): number;
}

export interface PluginEnv {
  store: EntityStore;
  counters: CounterStore;
  logger: Logger;
}

export interface PluginHandler<C = Record<string, unknown>> {
  /** Builds an instance from a validated config (defaults filled by the plugin's schema). */
  create(config: C, env: PluginEnv, entity: Plugin): PluginInstance;
}
