// The interface every bundled plugin implements (Kong's handler.lua, as TypeScript).
// A handler builds one instance per configured plugin entity when the configuration is
// compiled, so per-request work is only what the phase itself needs.
import type { Logger } from 'pino';
import type { EntityMap, EntityName, Plugin } from '../entities/types.ts';
import type { PluginInstance } from '../proxy/context.ts';

export type { PluginInstance } from '../proxy/context.ts';

/**
 * Counter keys that start with this are counted across the whole cluster (rate limiting with
 * policy = cluster): the node shares its totals of them with the other members by gossip. The
 * limit follows, then `|` (`cluster|100|<key>`): how close a count is to its limit decides how
 * soon the node shares it (src/proxy/node-counters.ts).
 */
export const CLUSTER_COUNTER_PREFIX = 'cluster|';

/** Counters shared by a node's workers (rate limiting); see src/proxy/counters.ts. */
export interface CounterStore {
  /** Current count of `key` in the window ending at `expiresAt` (ms epoch). */
  get(key: string, expiresAt: number): number;
  /** Add `by` and return the new count. */
  incr(key: string, expiresAt: number, by: number): number;
  /** The store cannot be reached (Redis down): the plugin's fault_tolerant decides what happens. */
  failing?(): boolean;
  /**
   * A remote store: read the counts of these keys ([key, expiresAt]) that this process does
   * not hold yet. A promise when it had to ask, null when it knew them all.
   */
  load?(keys: [string, number][]): Promise<void> | null;
}

/**
 * What a handler reads of the node's cache (src/cache/entity-store.ts implements it). An
 * interface here, not the store's class, so a plugin's code does not import the cache, which
 * imports the registry, which imports the plugins.
 */
export interface PluginStore {
  get<K extends EntityName>(name: K, id: string): EntityMap[K] | undefined;
  all<K extends EntityName>(name: K): IterableIterator<EntityMap[K]>;
  /**
   * A cache index a plugin declared (PluginPackage.indexes), by name: key → row for a unique
   * index, key → rows by id for a group. The same Map for the life of the store.
   */
  index<T>(name: string): ReadonlyMap<string, T>;
}

export interface PluginEnv {
  store: PluginStore;
  counters: CounterStore;
  logger: Logger;
  /**
   * Hand `msg` to the same plugin in the node's other proxy workers (their PluginPackage.worker
   * gets it; its answer is dropped). Absent when the proxy runs alone in its process.
   */
  tellSiblings?: (plugin: string, msg: unknown) => void;
}

export interface PluginHandler<C = Record<string, unknown>> {
  /** Builds an instance from a validated config (defaults filled by the plugin's schema). */
  create(config: C, env: PluginEnv, entity: Plugin): PluginInstance;
}
