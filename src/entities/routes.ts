// Kong 3 routes (traditional router): defaults and the http/https/grpc/stream entity checks.
import { z } from 'zod';
import type { EntityDef } from './definition.ts';
import { normalizePath, regexPathSource } from './uri-normalize.ts';
import { arr, between, bool, foreign, int, intOneOf, name, nullable, oneOf, PROTOCOLS, str, tags, timestamp, uuid, withDefault, isHostname } from './fields.ts';

const METHOD_RE = /^[A-Z]+$/;
const HEADER_NAME_RE = /^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/;

const endpoint = () =>
  z.strictObject({
    ip: str().max(64, 'length must be at most 64').optional(),
    port: between(0, 65535).optional(),
  });

/** Kong's typedefs.router_path: a fixed path in normalized form, or a regex that compiles. */
function routePathError(p: string): string | null {
  if (!p.startsWith('/') && !p.startsWith('~/')) return 'should start with: / (fixed path) or ~/ (regex path)';
  const bad = /%(?![0-9A-Fa-f]{2}).{0,2}/.exec(p);
  if (bad) return `invalid url-encoded value: '${bad[0]}'`;
  if (!p.startsWith('~')) {
    const normalized = normalizePath(p);
    return normalized === p ? null : `non-normalized path, consider use '${normalized}' instead`;
  }
  try {
    new RegExp(regexPathSource(p));
    return null;
  } catch (err) {
    return `invalid regex: '${p.slice(1)}' (${(err as Error).message})`;
  }
}

export const routeSchema = z.strictObject({
  id: uuid().optional(),
  created_at: timestamp().optional(),
  updated_at: timestamp().optional(),
  name: nullable(name()),
  protocols: withDefault(arr(oneOf(PROTOCOLS)).min(1, 'length must be at least 1').max(10, 'length must be at most 10'), () => ['http', 'https']),
  methods: nullable(
    arr(
      str()
        .max(64, 'length must be at most 64')
        .refine((m) => METHOD_RE.test(m), { error: (iss) => `invalid value: ${String(iss.input)}` }),
    ).max(64, 'length must be at most 64'),
  ),
  hosts: nullable(
    arr(
      str()
        .max(256, 'length must be at most 256')
        .refine((h) => isHostname(h.replace(/^\*\./, 'w.').replace(/\.\*$/, '.w').replace(/:\d+$/, '')), {
          error: (iss) => `invalid hostname: ${String(iss.input)}`,
        }),
    ).max(1000, 'length must be at most 1000'),
  ),
  paths: nullable(
    arr(
      str()
        .max(4096, 'length must be at most 4096')
        .superRefine((p, ctx) => {
          const message = routePathError(p);
          if (message) ctx.addIssue({ code: 'custom', message });
        }),
    ).max(1000, 'length must be at most 1000'),
  ),
  headers: nullable(
    z
      .record(
        str().refine((k) => HEADER_NAME_RE.test(k), { message: 'invalid header name' }),
        arr(str().max(1024, 'length must be at most 1024')).max(100, 'length must be at most 100'),
        { error: (iss) => (iss.input === null || iss.input === undefined ? 'required field missing' : 'expected a map') },
      )
      .refine((h) => !Object.keys(h).some((k) => k.toLowerCase() === 'host'), {
        message: "cannot contain 'host' header, which must be specified in the 'hosts' attribute",
      }),
  ),
  https_redirect_status_code: withDefault(intOneOf([426, 301, 302, 307, 308]), () => 426),
  regex_priority: withDefault(int().min(-2147483648, 'value should be between -2147483648 and 2147483647').max(2147483647, 'value should be between -2147483648 and 2147483647'), () => 0),
  strip_path: withDefault(bool(), () => true),
  path_handling: withDefault(oneOf(['v0', 'v1']), () => 'v0' as const),
  preserve_host: withDefault(bool(), () => false),
  request_buffering: withDefault(bool(), () => true),
  response_buffering: withDefault(bool(), () => true),
  snis: nullable(arr(str().max(256, 'length must be at most 256')).max(1000, 'length must be at most 1000')),
  sources: nullable(arr(endpoint()).max(1000, 'length must be at most 1000')),
  destinations: nullable(arr(endpoint()).max(1000, 'length must be at most 1000')),
  tags: tags(),
  service: nullable(foreign()),
});

const nonEmpty = (v: unknown) => v !== null && v !== undefined && v !== '' && !(Array.isArray(v) && v.length === 0) && !(typeof v === 'object' && Object.keys(v as object).length === 0);
const quoted = (names: string[]) => names.map((n) => `'${n}'`).join(', ');

function atLeastOne(e: Record<string, unknown>, names: string[], err: string): Record<string, unknown> | null {
  if (names.some((n) => nonEmpty(e[n]))) return null;
  return { '@entity': [err.replace('%s', quoted(names))] };
}

export function checkRoute(e: Record<string, unknown>): Record<string, unknown> | null {
  const protocols = e.protocols as string[];
  const has = (p: string) => protocols.includes(p);
  const http = has('http') || has('https') || has('ws') || has('wss');
  const stream = has('tcp') || has('tls') || has('udp') || has('tls_passthrough');
  const grpc = has('grpc') || has('grpcs');
  if ([http, stream, grpc].filter(Boolean).length > 1) {
    return { protocols: "these sets are mutually exclusive: ('http', 'https'), ('tcp', 'tls', 'udp'), ('tls_passthrough'), ('grpc', 'grpcs'), ('ws', 'wss')" };
  }
  const tlsish = has('https') || has('grpcs') || has('tls') || has('tls_passthrough') || has('wss');
  if (nonEmpty(e.snis) && !tlsish) {
    return { snis: "'snis' can only be set when 'protocols' is 'grpcs', 'https', 'tls', 'tls_passthrough', or 'wss'" };
  }
  if (http) {
    if (nonEmpty(e.sources)) return { sources: "cannot set 'sources' when 'protocols' is 'http' or 'https'" };
    if (nonEmpty(e.destinations)) return { destinations: "cannot set 'destinations' when 'protocols' is 'http' or 'https'" };
    if (has('https') || has('wss')) return atLeastOne(e, ['methods', 'hosts', 'headers', 'paths', 'snis'], "must set one of %s when 'protocols' is 'https'");
    return atLeastOne(e, ['methods', 'hosts', 'headers', 'paths'], "must set one of %s when 'protocols' is 'http'");
  }
  if (grpc) {
    if (e.strip_path === true) return { strip_path: "cannot set 'strip_path' when 'protocols' is 'grpc' or 'grpcs'" };
    if (nonEmpty(e.methods)) return { methods: "cannot set 'methods' when 'protocols' is 'grpc' or 'grpcs'" };
    if (has('grpcs')) return atLeastOne(e, ['hosts', 'headers', 'paths', 'snis'], "must set one of %s when 'protocols' is 'grpcs'");
    return atLeastOne(e, ['hosts', 'headers', 'paths'], "must set one of %s when 'protocols' is 'grpc'");
  }
  if (nonEmpty(e.methods)) return { methods: "cannot set 'methods' when 'protocols' is 'tcp', 'tls', 'tls_passthrough' or 'udp'" };
  if (nonEmpty(e.hosts)) return { hosts: "cannot set 'hosts' when 'protocols' is 'tcp', 'tls', 'tls_passthrough' or 'udp'" };
  if (nonEmpty(e.paths)) return { paths: "cannot set 'paths' when 'protocols' is 'tcp', 'tls', 'tls_passthrough' or 'udp'" };
  return atLeastOne(e, ['sources', 'destinations', 'snis'], "must set one of %s when 'protocols' is 'tcp', 'tls' or 'udp'");
}

const GRPC = new Set(['grpc', 'grpcs']);

/** Kong's grpc route defaults: strip_path is false unless set (and then refused by the check). */
function grpcDefaults(input: Record<string, unknown>): null {
  const protocols = input.protocols;
  if (Array.isArray(protocols) && protocols.some((p) => GRPC.has(p as string)) && (input.strip_path === undefined || input.strip_path === null)) {
    input.strip_path = false;
  }
  return null;
}

export const routes: EntityDef = {
  name: 'routes',
  endpointKey: 'name',
  schema: routeSchema as unknown as EntityDef['schema'],
  prepare: grpcDefaults,
  check: checkRoute,
  columns: {
    id: 'uuid',
    created_at: 'ts',
    updated_at: 'ts',
    name: 'text',
    protocols: 'text[]',
    methods: 'text[]',
    hosts: 'text[]',
    paths: 'text[]',
    headers: 'jsonb',
    https_redirect_status_code: 'int',
    regex_priority: 'int',
    strip_path: 'bool',
    path_handling: 'text',
    preserve_host: 'bool',
    request_buffering: 'bool',
    response_buffering: 'bool',
    snis: 'text[]',
    sources: 'jsonb',
    destinations: 'jsonb',
    tags: 'text[]',
    service: 'fk',
  },
  foreign: { service: 'services' },
  uniques: { routes_name_unique: ['name'] },
  cascade: [{ entity: 'plugins', field: 'route' }],
  restrict: [],
};
