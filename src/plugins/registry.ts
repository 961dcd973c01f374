// The plugin registry: one line per bundled plugin, and the only place core learns about
// plugins. Each plugin is a package (src/plugins/<name>/index.ts, see package.ts) owning its
// handler, config schema and, where it has them, its entities, Admin API endpoints, cache
// indexes and migrations; core's modules take those from the functions below. A new plugin is
// a folder under src/plugins/<name>/ plus its entry here (the import and its place in PACKAGES).
import type { IndexDefinition } from '../cache/indexes.ts';
import type { Migration } from '../db/migration.ts';
import type { EntityDef } from '../entities/definition.ts';
import type { EntityName } from '../entities/types.ts';
import type { CredentialEndpoints, PluginNodeHooks, PluginPackage } from './package.ts';
import { acl } from './acl/index.ts';
import { basicAuth } from './basic-auth/index.ts';
import { botDetection } from './bot-detection/index.ts';
import { correlationId } from './correlation-id/index.ts';
import { cors } from './cors/index.ts';
import { fileLog } from './file-log/index.ts';
import { hmacAuth } from './hmac-auth/index.ts';
import { httpLog } from './http-log/index.ts';
import { ipRestriction } from './ip-restriction/index.ts';
import { jwt } from './jwt/index.ts';
import { keyAuth } from './key-auth/index.ts';
import { prometheus } from './prometheus/index.ts';
import { proxyCache } from './proxy-cache/index.ts';
import { rateLimiting } from './rate-limiting/index.ts';
import { requestSizeLimiting } from './request-size-limiting/index.ts';
import { requestTermination } from './request-termination/index.ts';
import { requestTransformer } from './request-transformer/index.ts';
import { responseRateLimiting } from './response-ratelimiting/index.ts';
import { responseTransformer } from './response-transformer/index.ts';

export type { PluginPackage } from './package.ts';

/**
 * Every bundled plugin. The order is the order of their entities in a snapshot, a declarative
 * file and the config hash, and of their migrations: append, never reorder.
 */
const PACKAGES: PluginPackage[] = [
  keyAuth,
  basicAuth,
  acl,
  ipRestriction,
  cors,
  rateLimiting,
  requestSizeLimiting,
  requestTransformer,
  responseTransformer,
  prometheus,
  jwt,
  hmacAuth,
  correlationId,
  requestTermination,
  botDetection,
  fileLog,
  httpLog,
  proxyCache,
  responseRateLimiting,
];

/** The bundled plugins by name (Kong 3.x PRIORITY values in each package). */
export const plugins: Record<string, PluginPackage> = Object.fromEntries(PACKAGES.map((p) => [p.name, p]));

/** The names of the entities plugins own, in registry order (what a snapshot lists after core's). */
export function pluginEntityNames(): EntityName[] {
  return pluginEntities().map((d) => d.name);
}

/** The entities plugins own, parents first, in registry order. */
export function pluginEntities(): EntityDef[] {
  return PACKAGES.flatMap((p) => p.daos ?? []);
}

/** The Admin API endpoint groups of the plugins' entities. */
export function pluginEndpoints(): CredentialEndpoints[] {
  return PACKAGES.flatMap((p) => p.api ?? []);
}

/** The cache indexes the plugins' handlers read. */
export function pluginIndexes(): IndexDefinition[] {
  return PACKAGES.flatMap((p) => p.indexes ?? []);
}

/** The plugins' migrations, each named `<plugin>:<name>` in the ledger; they run after core's. */
export function pluginMigrations(): Migration[] {
  return PACKAGES.flatMap((p) => (p.migrations ?? []).map((m) => ({ name: `${p.name}:${m.name}`, up: m.up })));
}

/** The node-side parts of the plugins that have one (their own Admin API endpoints), by plugin name. */
export async function pluginNodeHooks(): Promise<[string, PluginNodeHooks][]> {
  const withHooks = PACKAGES.filter((p) => p.node !== undefined);
  return Promise.all(withHooks.map(async (p) => [p.name, await p.node!()] as [string, PluginNodeHooks]));
}

/** The worker-side answerer of a plugin's questions (PluginPackage.worker), or null. */
export async function pluginWorkerAnswer(name: string): Promise<((msg: unknown) => unknown) | null> {
  const p = plugins[name];
  return p?.worker ? p.worker() : null;
}

/** Load what plugins ask every proxy worker to load at start (see PluginPackage.preload). */
export async function preloadPlugins(): Promise<void> {
  await Promise.all(PACKAGES.map((p) => p.preload?.()));
}

export function availablePlugins(): string[] {
  return Object.keys(plugins).sort();
}

export type PluginConfigResult =
  | { ok: true; config: Record<string, unknown> }
  | { ok: false; fields: Record<string, unknown> };

/**
 * Validate a plugin's `config` and fill its defaults. Errors come back in Kong's nested
 * `fields` shape, e.g. `{ config: { minute: "expected a number" } }` is built by the caller
 * from the `fields` returned here (keyed by config field).
 */
export function validatePluginConfig(name: string, config: unknown): PluginConfigResult {
  const def = plugins[name];
  if (!def) return { ok: false, fields: { name: `plugin '${name}' not enabled; add it to the 'plugins' configuration property` } };
  const parsed = def.schema.safeParse(config ?? {});
  if (parsed.success) return { ok: true, config: parsed.data };
  const fields: Record<string, unknown> = {};
  for (const issue of parsed.error.issues) {
    let cur = fields;
    const p = issue.path.map(String);
    if (p.length === 0) {
      fields['@entity'] = [issue.message];
      continue;
    }
    for (let i = 0; i < p.length - 1; i++) {
      const k = p[i]!;
      if (typeof cur[k] !== 'object' || cur[k] === null) cur[k] = {};
      cur = cur[k] as Record<string, unknown>;
    }
    cur[p[p.length - 1]!] = issue.message;
  }
  return { ok: false, fields };
}
