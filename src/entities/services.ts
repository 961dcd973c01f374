// Kong 3 services: defaults, the `url` shorthand, and port defaults by protocol.
import { z } from 'zod';
import type { EntityDef } from './definition.ts';
import { between, bool, host, name, urlPath, nullable, oneOf, str, tags, timestamp, uuid, withDefault, arr, foreign, PROTOCOLS } from './fields.ts';

const SERVICE_PROTOCOLS = PROTOCOLS;
const TLS_PROTOCOLS = new Set(['https', 'grpcs', 'tls', 'wss', 'tls_passthrough']);
export const defaultPort = (protocol: unknown) => (TLS_PROTOCOLS.has(String(protocol)) ? 443 : 80);

const timeout = () => withDefault(between(1, 2147483646), () => 60000);

export const serviceSchema = z.strictObject({
  id: uuid().optional(),
  created_at: timestamp().optional(),
  updated_at: timestamp().optional(),
  name: nullable(name()),
  retries: withDefault(between(0, 32767), () => 5),
  protocol: withDefault(oneOf(SERVICE_PROTOCOLS), () => 'http' as const),
  host: host(),
  port: between(0, 65535).optional(),
  path: nullable(urlPath()),
  connect_timeout: timeout(),
  write_timeout: timeout(),
  read_timeout: timeout(),
  tags: tags(),
  client_certificate: nullable(foreign()),
  tls_verify: nullable(bool()),
  tls_verify_depth: nullable(between(0, 64)),
  ca_certificates: nullable(arr(uuid()).max(100, 'length must be at most 100')),
  enabled: withDefault(bool(), () => true),
});

// scheme://host[:port][/path]; the WHATWG URL parser would turn "no path" into "/".
const URL_RE = /^([A-Za-z][A-Za-z0-9+.-]*):\/\/(\[[^\]]+\]|[^/:?#]*)(?::(\d*))?([^?#]*)?/;

function applyUrl(input: Record<string, unknown>): Record<string, unknown> | null {
  if (!('url' in input)) return null;
  const url = input.url;
  delete input.url;
  if (url === null || url === undefined) return null;
  if (typeof url !== 'string') return { url: 'expected a string' };
  const m = URL_RE.exec(url);
  if (!m) {
    // No scheme: Kong's URL parser reads it all as a path, so host and path answer for it.
    input.path = url;
    return null;
  }
  if (!m[2]) return { url: `missing host in url` };
  const protocol = m[1]!.toLowerCase();
  input.protocol = protocol;
  input.host = m[2];
  input.port = m[3] ? Number(m[3]) : defaultPort(protocol);
  input.path = m[4] ? m[4] : null;
  return null;
}

export const services: EntityDef = {
  name: 'services',
  endpointKey: 'name',
  schema: serviceSchema as unknown as EntityDef['schema'],
  prepare: applyUrl,
  check(e) {
    if (e.port === undefined || e.port === null) e.port = defaultPort(e.protocol);
    const errs: Record<string, string> = {};
    if (e.path !== null && ['tcp', 'tls', 'tls_passthrough', 'udp', 'grpc', 'grpcs'].includes(String(e.protocol))) {
      errs.path = `value must be null`;
    }
    // Kong's entity_checks: the upstream TLS fields belong to https and tls services only.
    if (!['https', 'tls'].includes(String(e.protocol))) {
      for (const f of ['client_certificate', 'tls_verify', 'tls_verify_depth', 'ca_certificates']) if (e[f] !== null && e[f] !== undefined) errs[f] = 'value must be null';
    }
    return Object.keys(errs).length ? errs : null;
  },
  columns: {
    id: 'uuid',
    created_at: 'ts',
    updated_at: 'ts',
    name: 'text',
    retries: 'int',
    protocol: 'text',
    host: 'text',
    port: 'int',
    path: 'text',
    connect_timeout: 'int',
    write_timeout: 'int',
    read_timeout: 'int',
    tags: 'text[]',
    client_certificate: 'fk',
    tls_verify: 'bool',
    tls_verify_depth: 'int',
    ca_certificates: 'uuid[]',
    enabled: 'bool',
  },
  foreign: { client_certificate: 'certificates' },
  uniques: { services_name_unique: ['name'] },
  cascade: [{ entity: 'plugins', field: 'service' }],
  restrict: [{ entity: 'routes', field: 'service' }],
};
