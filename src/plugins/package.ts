// What a plugin package exports (Kong's plugin folder: handler.lua, schema.lua, daos.lua,
// api.lua, migrations/). A plugin owns everything about itself; core reads these through
// src/plugins/registry.ts and never names a plugin. Only types here: a plugin's folder imports
// this file, and core's modules import the registry, so neither imports the other's code.
//
// A plugin folder (src/plugins/key-auth/ for instance): index.ts (this interface, filled in),
// handler.ts (loaded lazily by the proxy), schema.ts (its config), and where it has them
// daos.ts (its entities, their row types joined to EntityMap/ConfigSnapshot, its cache
// indexes), api.ts (its Admin API endpoints) and migrations/NNN_name.ts.
import type { z } from 'zod';
import type { IndexDefinition } from '../cache/indexes.ts';
import type { Migration } from '../db/migration.ts';
import type { EntityDef } from '../entities/definition.ts';
import type { EntityName, Plugin } from '../entities/types.ts';
import type { Handler } from '../admin/router.ts';

/**
 * The endpoint groups Kong generates for a credential of a consumer (kong/api/endpoints.lua
 * with admin_api_name / admin_api_nested_name): nested under the consumer, the top-level
 * collection (no POST: a credential is created under its consumer), and its consumer.
 */
export interface CredentialEndpoints {
  entity: EntityName;
  /** Kong's admin_api_nested_name: `/consumers/{c}/<nested>`. */
  nested: string;
  /** Kong's admin_api_name: the top-level collection path, e.g. `/key-auths`. */
  collection: string;
  /** What a non-UUID value names under the consumer when it is not the endpoint key (a group...). */
  nestedKey?: string;
  /** How a data plane's read-only Admin API names the parent of a `/<collection>/{id}/...` URL. */
  parentField: string;
}

/**
 * What a plugin's own Admin API endpoints (Kong's api.lua endpoints that are not an entity's,
 * such as /proxy-cache) may use on the node that serves them.
 */
export interface PluginNodeTools {
  /** The node's plugin entities of this plugin (from its cache of the configuration). */
  entities(): Plugin[];
  /** Ask every proxy worker of this node (their PluginPackage.worker); the answers that came. */
  askWorkers(msg: unknown): Promise<unknown[]>;
  /** Hand `msg` to this plugin on every other node of the cluster (signed gossip); false when this node has no cluster yet. */
  tellCluster(msg: unknown): Promise<boolean>;
}

/** A plugin's node-side part, loaded by the Admin API of every role. */
export interface PluginNodeHooks {
  /** Endpoints: method, pattern (`/proxy-cache/:cache_key`) and handler, given the node's tools. */
  routes(tools: PluginNodeTools): { method: string; pattern: string; handler: Handler }[];
  /** What another node sent with tellCluster: what this node does with it. */
  onClusterMessage?(msg: unknown, tools: PluginNodeTools): Promise<void> | void;
}

export interface PluginPackage {
  name: string;
  /** Kong's PRIORITY: higher runs first in each phase. */
  priority: number;
  /** zod schema of `config`, filling Kong's defaults. */
  schema: z.ZodType<Record<string, unknown>>;
  /** The handler module, loaded lazily by the proxy so the Admin API does not pull the proxy's code. */
  handler: () => Promise<unknown>;
  /**
   * Modules a proxy worker loads at start, before any configuration names the plugin: metric
   * families that /metrics lists from the first scrape.
   */
  preload?: () => Promise<unknown>;
  /** Kong's typedefs.no_consumer: an auth plugin cannot be scoped to the consumer it finds. */
  noConsumer?: boolean;
  /** Entities the plugin owns (Kong's daos.lua), parents first; a snapshot lists them in this order. */
  daos?: EntityDef[];
  /** Admin API endpoints of those entities (Kong's api.lua). */
  api?: CredentialEndpoints[];
  /** Lookups of the node's cache the handler needs per request (a credential by its key...). */
  indexes?: IndexDefinition[];
  /**
   * The plugin's schema migrations, in order, named without the plugin (`000_base`); the ledger
   * records them as `<plugin>:<name>`. Idempotent (IF NOT EXISTS): a database whose core
   * migrations created the plugin's tables before they moved here runs them as no-ops.
   */
  migrations?: Migration[];
  /** Endpoints of the plugin's own (Kong's api.lua beyond its entities) and what it does with cluster messages. */
  node?: () => Promise<PluginNodeHooks>;
  /** Loaded in each proxy worker on the first question: answers PluginNodeTools.askWorkers. */
  worker?: () => Promise<(msg: unknown) => unknown>;
}
