// Kong 3 upstreams: balancing algorithm, hashing and the healthchecks default object.
import { z } from 'zod';
import type { EntityDef } from './definition.ts';
import { arr, between, bool, foreign, isHostname, nullable, num, oneOf, str, tags, timestamp, urlPath, uuid, withDefault } from './fields.ts';

const HASH_ON = ['none', 'consumer', 'ip', 'header', 'cookie', 'path', 'query_arg', 'uri_capture'] as const;
const statuses = (def: number[]) => withDefault(arr(between(100, 999)).max(32, 'length must be at most 32'), () => [...def]);
const counter = (max: number) => withDefault(between(0, max), () => 0);
const seconds = (def: number) => withDefault(num().min(0, 'value should be between 0 and 65535').max(65535, 'value should be between 0 and 65535'), () => def);
const rec = <T extends z.ZodRawShape>(shape: T) => withDefault(z.strictObject(shape), () => ({}) as never);

export const healthchecksSchema = rec({
  active: rec({
    type: withDefault(oneOf(['tcp', 'http', 'https', 'grpc', 'grpcs']), () => 'http' as const),
    timeout: seconds(1),
    concurrency: withDefault(between(1, 2147483648), () => 10),
    http_path: withDefault(str().max(1024, 'length must be at most 1024').refine((p) => p.startsWith('/'), { message: 'should start with: /' }), () => '/'),
    https_sni: nullable(str().max(256, 'length must be at most 256')),
    https_verify_certificate: withDefault(bool(), () => true),
    headers: nullable(z.record(str(), arr(str()), { error: (iss) => (iss.input == null ? 'required field missing' : 'expected a map') })),
    healthy: rec({
      interval: seconds(0),
      http_statuses: statuses([200, 302]),
      successes: counter(255),
    }),
    unhealthy: rec({
      interval: seconds(0),
      http_statuses: statuses([429, 404, 500, 501, 502, 503, 504, 505]),
      tcp_failures: counter(255),
      timeouts: counter(255),
      http_failures: counter(255),
    }),
  }),
  passive: rec({
    type: withDefault(oneOf(['tcp', 'http', 'https', 'grpc', 'grpcs']), () => 'http' as const),
    healthy: rec({
      http_statuses: statuses([200, 201, 202, 203, 204, 205, 206, 207, 208, 226, 300, 301, 302, 303, 304, 305, 306, 307, 308]),
      successes: counter(255),
    }),
    unhealthy: rec({
      http_statuses: statuses([429, 500, 503]),
      tcp_failures: counter(255),
      timeouts: counter(255),
      http_failures: counter(255),
    }),
  }),
  threshold: withDefault(num().min(0, 'value should be between 0 and 100').max(100, 'value should be between 0 and 100'), () => 0),
});

const headerName = () => nullable(str().max(256, 'length must be at most 256'));
// kong/tools/http.lua validate_header_name / validate_http_token.
const kongHeaderName = () =>
  nullable(
    str().refine((h) => /^[a-zA-Z0-9-_]+$/.test(h), {
      error: (iss) => `bad header name '${String(iss.input)}', allowed characters are A-Z, a-z, 0-9, '_', and '-'`,
    }),
  );
const cookieName = () =>
  nullable(
    str().refine((c) => /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(c), {
      message: 'contains one or more invalid characters. ASCII control characters (0-31;127), space, tab and the characters ()<>@,;:\\"/?={}[] are not allowed.',
    }),
  );
const IPV4 = /^\d{1,3}(\.\d{1,3}){3}$/;
/** Kong's upstream name check (upstreams.lua validate_name): a hostname, no IP, no port. */
function nameError(n: string): string | null {
  const head = `Invalid name ('${n}')`;
  if (IPV4.test(n) || (n.includes(':') && /^\[?[0-9A-Fa-f:.]+\]?$/.test(n) && n.split(':').length > 2)) return `${head}; no ip addresses allowed`;
  const m = /^(.+):(\d+)$/.exec(n);
  if (m && isHostname(m[1]!)) return IPV4.test(m[1]!) ? `${head}; no ip addresses allowed` : `${head}; no port allowed`;
  return isHostname(n) ? null : `${head}; must be a valid hostname`;
}

export const upstreamSchema = z.strictObject({
  id: uuid().optional(),
  created_at: timestamp().optional(),
  updated_at: timestamp().optional(),
  name: str()
    .max(256, 'length must be at most 256')
    .superRefine((n, ctx) => {
      const message = nameError(n);
      if (message) ctx.addIssue({ code: 'custom', message });
    }),
  algorithm: withDefault(oneOf(['consistent-hashing', 'least-connections', 'round-robin', 'latency']), () => 'round-robin' as const),
  hash_on: withDefault(oneOf(HASH_ON), () => 'none' as const),
  hash_fallback: withDefault(oneOf(HASH_ON), () => 'none' as const),
  hash_on_header: kongHeaderName(),
  hash_fallback_header: kongHeaderName(),
  hash_on_cookie: cookieName(),
  hash_on_cookie_path: withDefault(urlPath(), () => '/'),
  hash_on_query_arg: headerName(),
  hash_fallback_query_arg: headerName(),
  hash_on_uri_capture: headerName(),
  hash_fallback_uri_capture: headerName(),
  slots: withDefault(between(10, 65536), () => 10000),
  healthchecks: healthchecksSchema,
  tags: tags(),
  host_header: nullable(str().max(256, 'length must be at most 256')),
  client_certificate: nullable(foreign()),
  use_srv_name: withDefault(bool(), () => false),
});

type Conditional = [ifField: string, ifValue: string, thenField: string, then: 'required' | readonly string[]];

// Kong's entity_checks for hashing (kong/db/schema/entities/upstreams.lua), in its order.
const CONDITIONALS: Conditional[] = [
  ['hash_on', 'header', 'hash_on_header', 'required'],
  ['hash_fallback', 'header', 'hash_fallback_header', 'required'],
  ['hash_on', 'cookie', 'hash_on_cookie', 'required'],
  ['hash_fallback', 'cookie', 'hash_on_cookie', 'required'],
  ['hash_on', 'none', 'hash_fallback', ['none']],
  ['hash_on', 'cookie', 'hash_fallback', ['none']],
  ['hash_on', 'consumer', 'hash_fallback', ['none', 'ip', 'header', 'cookie', 'path', 'query_arg', 'uri_capture']],
  ['hash_on', 'ip', 'hash_fallback', ['none', 'consumer', 'header', 'cookie', 'path', 'query_arg', 'uri_capture']],
  ['hash_on', 'path', 'hash_fallback', ['none', 'consumer', 'header', 'cookie', 'query_arg', 'ip', 'uri_capture']],
  ['hash_on', 'query_arg', 'hash_on_query_arg', 'required'],
  ['hash_fallback', 'query_arg', 'hash_fallback_query_arg', 'required'],
  ['hash_on', 'uri_capture', 'hash_on_uri_capture', 'required'],
  ['hash_fallback', 'uri_capture', 'hash_fallback_uri_capture', 'required'],
];
const DISTINCT: [string, string][] = [
  ['hash_on_header', 'hash_fallback_header'],
  ['hash_on_query_arg', 'hash_fallback_query_arg'],
  ['hash_on_uri_capture', 'hash_fallback_uri_capture'],
];
const given = (v: unknown) => v !== undefined && v !== null && v !== '';

/**
 * Kong runs these checks on the values as given, and a failed one replaces the field's own
 * error ("failed conditional validation given value of field 'hash_on'").
 */
export function hashChecks(input: Record<string, unknown>): Record<string, unknown> | null {
  const value = (f: string) => (given(input[f]) ? input[f] : f === 'hash_on' || f === 'hash_fallback' ? 'none' : null);
  const fields: Record<string, unknown> = {};
  const entity: string[] = [];
  for (const [ifField, ifValue, thenField, then] of CONDITIONALS) {
    if (value(ifField) !== ifValue) continue;
    const v = value(thenField);
    const bad = then === 'required' ? !given(v) : !then.includes(String(v));
    if (!bad) continue;
    fields[thenField] ??= then === 'required' ? 'required field missing' : `expected one of: ${then.join(', ')}`;
    const msg = `failed conditional validation given value of field '${ifField}'`;
    if (!entity.includes(msg)) entity.push(msg);
  }
  for (const [a, b] of DISTINCT) {
    if (given(input[a]) && input[a] === input[b]) entity.push(`values of these fields must be distinct: '${a}', '${b}'`);
  }
  if (entity.length === 0) return null;
  return { '@entity': entity, ...fields };
}

export const upstreams: EntityDef = {
  name: 'upstreams',
  endpointKey: 'name',
  schema: upstreamSchema as unknown as EntityDef['schema'],
  prepare: hashChecks,
  columns: {
    id: 'uuid',
    created_at: 'ts',
    updated_at: 'ts',
    name: 'text',
    algorithm: 'text',
    hash_on: 'text',
    hash_fallback: 'text',
    hash_on_header: 'text',
    hash_fallback_header: 'text',
    hash_on_cookie: 'text',
    hash_on_cookie_path: 'text',
    hash_on_query_arg: 'text',
    hash_fallback_query_arg: 'text',
    hash_on_uri_capture: 'text',
    hash_fallback_uri_capture: 'text',
    slots: 'int',
    healthchecks: 'jsonb',
    tags: 'text[]',
    host_header: 'text',
    client_certificate: 'fk',
    use_srv_name: 'bool',
  },
  foreign: { client_certificate: 'certificates' },
  uniques: { upstreams_name_unique: ['name'] },
  mergeable: ['healthchecks'],
  cascade: [{ entity: 'targets', field: 'upstream' }],
  restrict: [],
};
