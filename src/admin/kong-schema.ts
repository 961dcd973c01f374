// Kong's schema format for GET /schemas/{entity} and /schemas/plugins/{name}: `fields` as an
// array of one-key records, with Kong's type names (string, integer, number, boolean, array,
// set, map, record, foreign), `required`, `default`, `one_of`, `elements`, `fields`, and
// `entity_checks`. Built from the zod schemas that validate writes, so the two cannot drift.
import type { z } from 'zod';
import type { EntityDef } from '../entities/definition.ts';
import { KONG_DEFAULTS } from '../entities/fields.ts';

type Def = { type: string; [k: string]: unknown };
type KongField = Record<string, unknown>;
const defOf = (s: unknown): Def | undefined => (s as { def?: Def } | undefined)?.def;

interface Unwrapped {
  schema: unknown;
  required: boolean;
  default?: unknown;
}

function unwrap(s: unknown): Unwrapped {
  let required = true;
  let dflt: unknown;
  let cur = s;
  for (let i = 0; i < 20; i++) {
    const kongDefault = cur && typeof cur === 'object' ? KONG_DEFAULTS.get(cur) : undefined;
    if (kongDefault) dflt = kongDefault();
    const d = defOf(cur);
    if (!d) break;
    if (d.type === 'optional' || d.type === 'nullable') {
      required = false;
      cur = d.innerType;
    } else if (d.type === 'default' || d.type === 'prefault') {
      dflt = d.defaultValue;
      cur = d.innerType;
    } else if (d.type === 'pipe') {
      cur = defOf(d.in)?.type === 'transform' ? d.out : d.in;
    } else if (d.type === 'readonly' || d.type === 'catch' || d.type === 'nonoptional') {
      cur = d.innerType;
    } else break;
  }
  return { schema: cur, required: required || dflt !== undefined, default: dflt };
}

function typeOf(schema: unknown, depth: number): KongField {
  const d = defOf(schema);
  if (!d || depth > 16) return { type: 'string' };
  switch (d.type) {
    case 'string':
      return { type: 'string' };
    case 'number':
      return { type: (schema as { isInt?: boolean }).isInt ? 'integer' : 'number' };
    case 'boolean':
      return { type: 'boolean' };
    case 'enum':
      return { type: 'string', one_of: (schema as { options: unknown[] }).options };
    case 'literal':
      return { type: 'string', eq: (d.values as unknown[])[0] };
    case 'array':
      return { type: 'array', elements: field(d.element, depth + 1) };
    case 'object':
      return { type: 'record', fields: fieldsOf(schema, depth + 1) };
    case 'record':
      return { type: 'map', keys: { type: 'string' }, values: field(d.valueType, depth + 1) };
    case 'union':
      return typeOf(unwrap((d.options as unknown[])[0]).schema, depth + 1);
    default:
      return { type: 'string' };
  }
}

function field(s: unknown, depth = 0): KongField {
  const u = unwrap(s);
  const out: KongField = { ...typeOf(u.schema, depth) };
  if (u.required) out.required = true;
  // Kong gives records no default of their own: their fields carry them.
  if (u.default !== undefined && out.type !== 'record') out.default = u.default;
  return out;
}

function fieldsOf(schema: unknown, depth = 0): KongField[] {
  const shape = (defOf(schema)?.shape ?? {}) as Record<string, unknown>;
  return Object.entries(shape).map(([name, s]) => ({ [name]: field(s, depth) }));
}

/** An entity's schema: its foreign keys as Kong's `foreign` fields, without the parent's schema. */
export function entitySchema(def: EntityDef): Record<string, unknown> {
  const fields = fieldsOf(def.schema).map((f) => {
    const name = Object.keys(f)[0]!;
    const parent = def.foreign[name];
    if (!parent) return f;
    return { [name]: { type: 'foreign', reference: parent, required: (f[name] as KongField).required === true } };
  });
  return { name: def.name, primary_key: ['id'], endpoint_key: def.endpointKey ?? null, fields, entity_checks: [] };
}

/** A plugin's schema: the plugin entity's scoping fields, `protocols` and its `config` record. */
export function pluginSchema(name: string, config: z.ZodType, opts: { noConsumer?: boolean }): Record<string, unknown> {
  const consumer: KongField = { type: 'foreign', reference: 'consumers' };
  if (opts.noConsumer) consumer.eq = null;
  return {
    name,
    fields: [
      { consumer },
      { service: { type: 'foreign', reference: 'services' } },
      { route: { type: 'foreign', reference: 'routes' } },
      { protocols: { type: 'set', required: true, default: ['grpc', 'grpcs', 'http', 'https'], elements: { type: 'string', one_of: ['grpc', 'grpcs', 'http', 'https', 'tcp', 'tls', 'tls_passthrough', 'udp'] } } },
      { config: { type: 'record', required: true, fields: fieldsOf(config) } },
    ],
    entity_checks: [],
  };
}
