// The plugin registry: one line per bundled plugin. The Admin API validates plugin configs
// through `validatePluginConfig`; the proxy looks handlers up by name. A new plugin is a
// folder under src/plugins/<name>/ (handler.ts + schema.ts) plus one line here.
import type { z } from 'zod';

export interface PluginDefinition {
  name: string;
  /** Kong's PRIORITY: higher runs first in each phase. */
  priority: number;
  /** zod schema of `config`, filling Kong's defaults. */
  schema: z.ZodType<Record<string, unknown>>;
  /** Loaded lazily by the proxy so the Admin API does not pull the proxy's code. */
  handler: () => Promise<unknown>;
}

export const plugins: Record<string, PluginDefinition> = {};

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
