// The plugin registry: one line per bundled plugin. The Admin API validates plugin configs
// through `validatePluginConfig`; the proxy looks handlers up by name. A new plugin is a
// folder under src/plugins/<name>/ (handler.ts + schema.ts) plus one line here.
import type { z } from 'zod';
import { aclSchema } from './acl/schema.ts';
import { basicAuthSchema } from './basic-auth/schema.ts';
import { corsSchema } from './cors/schema.ts';
import { ipRestrictionSchema } from './ip-restriction/schema.ts';
import { keyAuthSchema } from './key-auth/schema.ts';
import { prometheusSchema } from './prometheus/schema.ts';
import { rateLimitingSchema } from './rate-limiting/schema.ts';
import { requestSizeLimitingSchema } from './request-size-limiting/schema.ts';
import { requestTransformerSchema } from './request-transformer/schema.ts';
import { responseTransformerSchema } from './response-transformer/schema.ts';

export interface PluginDefinition {
  name: string;
  /** Kong's PRIORITY: higher runs first in each phase. */
  priority: number;
  /** zod schema of `config`, filling Kong's defaults. */
  schema: z.ZodType<Record<string, unknown>>;
  /** Loaded lazily by the proxy so the Admin API does not pull the proxy's code. */
  handler: () => Promise<unknown>;
  /** Kong's typedefs.no_consumer: an auth plugin cannot be scoped to the consumer it finds. */
  noConsumer?: boolean;
}

type Schema = PluginDefinition['schema'];
const def = (name: string, priority: number, schema: unknown, handler: () => Promise<{ default: unknown }>, noConsumer = false): PluginDefinition => ({
  name,
  priority,
  schema: schema as Schema,
  handler: () => handler().then((m) => m.default),
  noConsumer,
});

// Kong 3.x PRIORITY values.
export const plugins: Record<string, PluginDefinition> = {
  acl: def('acl', 950, aclSchema, () => import('./acl/handler.ts'), true),
  'basic-auth': def('basic-auth', 1100, basicAuthSchema, () => import('./basic-auth/handler.ts'), true),
  'ip-restriction': def('ip-restriction', 990, ipRestrictionSchema, () => import('./ip-restriction/handler.ts')),
  cors: def('cors', 2000, corsSchema, () => import('./cors/handler.ts')),
  'key-auth': def('key-auth', 1250, keyAuthSchema, () => import('./key-auth/handler.ts'), true),
  'rate-limiting': def('rate-limiting', 910, rateLimitingSchema, () => import('./rate-limiting/handler.ts')),
  'request-size-limiting': def('request-size-limiting', 951, requestSizeLimitingSchema, () => import('./request-size-limiting/handler.ts')),
  'request-transformer': def('request-transformer', 801, requestTransformerSchema, () => import('./request-transformer/handler.ts')),
  'response-transformer': def('response-transformer', 800, responseTransformerSchema, () => import('./response-transformer/handler.ts')),
  prometheus: def('prometheus', 13, prometheusSchema, () => import('./prometheus/handler.ts')),
};

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
