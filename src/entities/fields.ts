// zod builders that speak Kong's validation messages (kong/db/schema/init.lua
// validation_errors), and the mapping from zod issues to Kong's nested `fields` object.
import { z } from 'zod';

export const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
export const isUuid = (s: unknown): s is string => typeof s === 'string' && s.length === 36 && UUID_RE.test(s);

const TYPE_MESSAGES: Record<string, string> = {
  string: 'expected a string',
  number: 'expected a number',
  int: 'expected an integer',
  boolean: 'expected a boolean',
  array: 'expected an array',
  object: 'expected a record',
  record: 'expected a map',
};

/** Fallback messages for issues whose schema did not set one. */
export function kongMessage(iss: z.core.$ZodRawIssue): string {
  switch (iss.code) {
    case 'invalid_type':
      if (iss.input === undefined || iss.input === null) return 'required field missing';
      return TYPE_MESSAGES[iss.expected as string] ?? `expected ${iss.expected}`;
    case 'invalid_value':
      return `expected one of: ${(iss.values as unknown[]).join(', ')}`;
    case 'too_small':
      if (iss.origin === 'string' || iss.origin === 'array') return `length must be at least ${iss.minimum}`;
      return `value must be greater than ${iss.minimum}`;
    case 'too_big':
      if (iss.origin === 'string' || iss.origin === 'array') return `length must be at most ${iss.maximum}`;
      return `value must be at most ${iss.maximum}`;
    case 'invalid_format':
      if (iss.format === 'uuid' || iss.format === 'regex') return 'expected a valid UUID';
      return `invalid value: ${String(iss.input)}`;
    case 'unrecognized_keys':
      return 'unknown field';
    default:
      return iss.message ?? 'invalid value';
  }
}

/** zod issues → Kong's `fields` (nested records, arrays for array elements, "unknown field"). */
export function issuesToFields(issues: readonly z.core.$ZodIssue[], prefix: PropertyKey[] = []): Record<string, unknown> {
  const fields: Record<string, unknown> = {};
  const put = (path: PropertyKey[], msg: string) => {
    if (path.length === 0) {
      const list = (fields['@entity'] as string[] | undefined) ?? [];
      list.push(msg);
      fields['@entity'] = list;
      return;
    }
    let cur: Record<string, unknown> | unknown[] = fields;
    for (let i = 0; i < path.length - 1; i++) {
      const k = path[i] as string | number;
      const next = path[i + 1];
      const existing = (cur as Record<string | number, unknown>)[k];
      if (existing === null || typeof existing !== 'object') {
        const fresh = typeof next === 'number' ? [] : {};
        (cur as Record<string | number, unknown>)[k] = fresh;
        cur = fresh;
      } else {
        cur = existing as Record<string, unknown>;
      }
    }
    const last = path[path.length - 1] as string | number;
    if ((cur as Record<string | number, unknown>)[last] === undefined) (cur as Record<string | number, unknown>)[last] = msg;
  };
  for (const iss of issues) {
    const path = [...prefix, ...iss.path];
    if (iss.code === 'unrecognized_keys') {
      for (const k of iss.keys) put([...path, k], 'unknown field');
    } else {
      put(path, iss.message);
    }
  }
  // Sparse arrays of element errors: JSON has no holes, Kong's cjson writes null there too.
  const fillHoles = (v: unknown): void => {
    if (Array.isArray(v)) {
      for (let i = 0; i < v.length; i++) if (v[i] === undefined) v[i] = null;
      v.forEach(fillHoles);
    } else if (v && typeof v === 'object') Object.values(v).forEach(fillHoles);
  };
  fillHoles(fields);
  return fields;
}

const required = (msg: string) => (iss: { input?: unknown }) => (iss.input === undefined || iss.input === null ? 'required field missing' : msg);

export const str = () => z.string({ error: required('expected a string') });
export const int = () => z.int({ error: required('expected an integer') });
export const num = () => z.number({ error: required('expected a number') });
export const bool = () => z.boolean({ error: required('expected a boolean') });
export const between = (min: number, max: number) =>
  int()
    .min(min, `value should be between ${min} and ${max}`)
    .max(max, `value should be between ${min} and ${max}`);
export const oneOf = <const T extends readonly [string, ...string[]]>(values: T) =>
  z.enum(values, { error: required(`expected one of: ${values.join(', ')}`) });
export const intOneOf = (values: number[]) =>
  int().refine((v) => values.includes(v), { message: `expected one of: ${values.join(', ')}` });
export const arr = <T extends z.ZodType>(el: T) => z.array(el, { error: required('expected an array') });
export const uuid = () => str().regex(UUID_RE, 'expected a valid UUID');
/** A foreign key: `{id: uuid}`. */
export const foreign = () => z.strictObject({ id: uuid() }, { error: required('expected a record') });
export const timestamp = () => int().min(0, 'expected a valid timestamp');

/** Optional in input, null in output when absent (Kong returns every field). */
export const nullable = <T extends z.ZodType>(s: T) => s.nullable().default(null);
/** Defaulted; null means "use the default" as for an absent key. */
export const withDefault = <T extends z.ZodType>(s: T, def: () => unknown) => {
  const schema = z.preprocess((v) => (v === undefined || v === null ? def() : v), s);
  KONG_DEFAULTS.set(schema, def);
  return schema;
};

/** The defaults withDefault hides in a preprocess step, for GET /schemas (Kong's `default`). */
export const KONG_DEFAULTS = new WeakMap<object, () => unknown>();

// Kong's typedefs.tag: printable ASCII except ',' and '/', or UTF-8.
const TAG_RE = /^[\x20-\x2B\x2D\x2E\x30-\x7E\u0080-\u{10FFFF}]+$/u;
export const tags = () =>
  nullable(
    arr(
      str()
        .min(1, 'length must be at least 1')
        .max(128, 'length must be at most 128')
        .refine((t) => TAG_RE.test(t), {
          message: 'invalid tag: expected printable ascii (except `,` and `/`) or valid utf-8 sequences',
        }),
    ).max(1000, 'length must be at most 1000'),
  );

/** Kong's typedefs.utf8_name: the name of services, routes, upstreams... */
export const name = () =>
  str()
    .min(1, 'length must be at least 1')
    .max(256, 'length must be at most 256')
    .refine((s) => /^[\p{L}\p{N}.\-_~\u0080-\u{10FFFF}]+$/u.test(s), {
      error: (iss) => `invalid value '${String(iss.input)}': the only accepted ascii characters are alphanumerics or ., -, _, and ~`,
    });

const HOST_RE = /^(?=.{1,253}$)([A-Za-z0-9_]([A-Za-z0-9_-]{0,62}[A-Za-z0-9_])?)(\.[A-Za-z0-9_]([A-Za-z0-9_-]{0,62}[A-Za-z0-9_])?)*\.?$/;
const IPV6_RE = /^\[?[0-9A-Fa-f:.]+\]?$/;
export const isHostname = (s: string) => HOST_RE.test(s) || (s.includes(':') && IPV6_RE.test(s));
export const host = () =>
  str()
    .max(256, 'length must be at most 256')
    .superRefine((h, ctx) => {
      if (isHostname(h)) return;
      const m = /^(.+):(\d+)$/.exec(h);
      const message = m && !m[1]!.includes(':') && isHostname(m[1]!) ? 'must not have a port' : `invalid value: ${h}`;
      ctx.addIssue({ code: 'custom', message });
    });

// Kong's typedefs.path: RFC 3986 characters only, no empty segments, valid %-encoding.
const PATH_CHARS = /^\/[A-Za-z0-9.\-_~/%:@!$&'()*+,;=]*$/;
export const urlPath = () =>
  str()
    .max(1024, 'length must be at most 1024')
    .superRefine((p, ctx) => {
      let message: string | null = null;
      if (!p.startsWith('/')) message = 'should start with: /';
      else if (p.includes('//')) message = 'must not have empty segments';
      else if (!PATH_CHARS.test(p)) message = `invalid path: '${p}' (characters outside of the reserved list of RFC 3986 found)`;
      else {
        const bad = /%(?![0-9A-Fa-f]{2}).{0,2}/.exec(p);
        if (bad) message = `invalid url-encoded value: '${bad[0]}'`;
      }
      if (message) ctx.addIssue({ code: 'custom', message });
    });

// Kong's open-source gateway: ws/wss are Enterprise protocols and are refused with this list.
export const PROTOCOLS = ['grpc', 'grpcs', 'http', 'https', 'tcp', 'tls', 'tls_passthrough', 'udp'] as const;

type ZDef = { type: string; [k: string]: unknown };
const zdef = (s: unknown): ZDef | undefined => (s as { def?: ZDef } | undefined)?.def;

/** The object schema under optional / default / preprocess wrappers, if any. */
function objectShape(s: unknown): Record<string, unknown> | null {
  let cur = s;
  for (let i = 0; i < 20; i++) {
    const d = zdef(cur);
    if (!d) return null;
    if (d.type === 'object') return (d.shape ?? {}) as Record<string, unknown>;
    if (['optional', 'nullable', 'default', 'prefault', 'readonly', 'catch', 'nonoptional'].includes(d.type)) cur = d.innerType;
    else if (d.type === 'pipe') cur = zdef(d.in)?.type === 'transform' ? d.out : d.in;
    else return null;
  }
  return null;
}

/**
 * Kong refuses fields a record does not declare ("unknown field"), at any depth; plugin
 * config schemas written with z.object would drop them silently. Null when there are none.
 */
export function unknownFields(schema: unknown, value: unknown, depth = 0): Record<string, unknown> | null {
  const shape = objectShape(schema);
  if (!shape || depth > 16 || value === null || typeof value !== 'object' || Array.isArray(value)) return null;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
    if (!Object.hasOwn(shape, k)) out[k] = 'unknown field';
    else {
      const nested = unknownFields(shape[k], v, depth + 1);
      if (nested) out[k] = nested;
    }
  }
  return Object.keys(out).length ? out : null;
}
