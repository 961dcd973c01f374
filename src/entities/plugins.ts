// Kong 3 plugins: scoped to a service / route / consumer (or global), one per name and
// scope; `config` is validated by the plugin's own schema from src/plugins/registry.ts.
import { z } from 'zod';
import type { EntityDef } from './definition.ts';
import { arr, bool, foreign, issuesToFields, kongMessage, name, nullable, oneOf, str, tags, timestamp, unknownFields, uuid, withDefault, PROTOCOLS } from './fields.ts';
import { plugins as registry, validatePluginConfig } from '../plugins/registry.ts';

export const pluginSchema = z.strictObject({
  id: uuid().optional(),
  created_at: timestamp().optional(),
  updated_at: timestamp().optional(),
  name: str().min(1, 'length must be at least 1').max(256, 'length must be at most 256'),
  instance_name: nullable(name()),
  config: withDefault(z.record(z.string(), z.unknown(), { error: (iss) => (iss.input == null ? 'required field missing' : 'expected a record') }), () => ({})),
  enabled: withDefault(bool(), () => true),
  protocols: withDefault(
    arr(oneOf(PROTOCOLS)).min(1, 'length must be at least 1').max(10, 'length must be at most 10'),
    () => ['grpc', 'grpcs', 'http', 'https'],
  ),
  service: nullable(foreign()),
  route: nullable(foreign()),
  consumer: nullable(foreign()),
  tags: tags(),
});

const idOf = (v: unknown) => (v && typeof v === 'object' ? ((v as { id?: string }).id ?? '') : '');

export function pluginCacheKey(e: Record<string, unknown>): string {
  return `plugins:${e.name}:${idOf(e.route)}:${idOf(e.service)}:${idOf(e.consumer)}`;
}

export const plugins: EntityDef = {
  name: 'plugins',
  endpointKey: 'instance_name',
  schema: pluginSchema as unknown as EntityDef['schema'],
  check(e) {
    const pluginName = String(e.name);
    if (!Object.hasOwn(registry, pluginName)) {
      return { name: `plugin '${pluginName}' not enabled; add it to the 'plugins' configuration property` };
    }
    if (registry[pluginName]!.noConsumer && e.consumer) return { consumer: 'value must be null' };
    const unknown = unknownFields(registry[pluginName]!.schema, e.config) ?? {};
    const res = validatePluginConfig(pluginName, e.config);
    if (!res.ok) {
      // Same schema again, with Kong's wording for the messages the plugin did not set
      // ("expected a number" rather than zod's "Invalid input: expected number...").
      const again = registry[pluginName]!.schema.safeParse(e.config ?? {}, { error: kongMessage });
      return { config: { ...(again.success ? res.fields : issuesToFields(again.error.issues)), ...unknown } };
    }
    if (Object.keys(unknown).length) return { config: unknown };
    e.config = res.config;
    return null;
  },
  columns: {
    id: 'uuid',
    created_at: 'ts',
    updated_at: 'ts',
    name: 'text',
    instance_name: 'text',
    config: 'jsonb',
    enabled: 'bool',
    protocols: 'text[]',
    service: 'fk',
    route: 'fk',
    consumer: 'fk',
    tags: 'text[]',
  },
  foreign: { service: 'services', route: 'routes', consumer: 'consumers' },
  uniques: {
    plugins_cache_key_unique: ['consumer', 'name', 'route', 'service'],
    plugins_instance_name_unique: ['instance_name'],
  },
  derived: (e) => ({ cache_key: pluginCacheKey(e) }),
  mergeable: ['config'],
  cascade: [],
  restrict: [],
  cacheKeys: (e) => [pluginCacheKey(e)],
};
