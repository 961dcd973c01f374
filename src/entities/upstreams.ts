// Kong 3 upstreams: balancing algorithm, hashing and the healthchecks default object.
import { z } from 'zod';
import type { EntityDef } from './definition.ts';
import { arr, between, bool, foreign, isHostname, nullable, num, oneOf, str, tags, timestamp, uuid, withDefault } from './fields.ts';

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

export const upstreamSchema = z.strictObject({
  id: uuid().optional(),
  created_at: timestamp().optional(),
  updated_at: timestamp().optional(),
  name: str()
    .max(256, 'length must be at most 256')
    .refine((n) => isHostname(n), { error: (iss) => `Invalid name ('${String(iss.input)}'); must be a valid hostname` }),
  algorithm: withDefault(oneOf(['consistent-hashing', 'least-connections', 'round-robin', 'latency']), () => 'round-robin' as const),
  hash_on: withDefault(oneOf(HASH_ON), () => 'none' as const),
  hash_fallback: withDefault(oneOf(HASH_ON), () => 'none' as const),
  hash_on_header: headerName(),
  hash_fallback_header: headerName(),
  hash_on_cookie: headerName(),
  hash_on_cookie_path: withDefault(str().max(1024, 'length must be at most 1024').refine((p) => p.startsWith('/'), { message: 'should start with: /' }), () => '/'),
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

export function checkUpstream(e: Record<string, unknown>): Record<string, unknown> | null {
  const needs: Record<string, string> = { header: 'header', cookie: 'cookie', query_arg: 'query_arg', uri_capture: 'uri_capture' };
  for (const side of ['on', 'fallback'] as const) {
    const v = String(e[`hash_${side}`]);
    const extra = needs[v];
    if (extra) {
      const f = side === 'on' || extra !== 'cookie' ? `hash_${side}_${extra}` : 'hash_on_cookie';
      if (!e[f]) return { [f]: 'required field missing' };
    }
  }
  if (e.hash_on === 'none' && e.hash_fallback !== 'none') {
    return { hash_fallback: "failed conditional validation given value of field 'hash_on'" };
  }
  return null;
}

export const upstreams: EntityDef = {
  name: 'upstreams',
  endpointKey: 'name',
  schema: upstreamSchema as unknown as EntityDef['schema'],
  check: checkUpstream,
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
