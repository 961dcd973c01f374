// The configuration the proxy benchmark runs with: one service on the nginx upstream, one
// route, and for variant (e) key-auth + rate-limiting (a limit never reached) + prometheus, for
// variant (g) jwt + correlation-id + http-log (to the nginx upstream, which answers 200 to the
// log posts too: a collector that costs the proxy nothing of its own CPU).
import type { ConfigSnapshot, Route } from '../../src/entities/types.ts';
import { encodeJwt } from '../../src/plugins/jwt/parser.ts';

export const BENCH_KEY = 'bench-key';
const JWT_KEY = 'bench-issuer';
const JWT_SECRET = 'bench-secret-bench-secret-bench-secret';

/** The Authorization header variant (g) sends: an HS256 token of the bench consumer's jwt secret. */
export const BENCH_JWT = `Bearer ${encodeJwt({ iss: JWT_KEY }, JWT_SECRET, 'HS256')}`;

export type BenchPlugins = 'none' | 'auth' | 'logging';

export function benchRoute(i: number, serviceId: string, paths: string[], hosts: string[] | null = null): Route {
  return {
    id: `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`, name: `r${i}`, protocols: ['http', 'https'], methods: null, hosts, paths, headers: null,
    https_redirect_status_code: 426, regex_priority: 0, strip_path: false, path_handling: 'v0', preserve_host: false,
    request_buffering: true, response_buffering: true, snis: null, sources: null, destinations: null,
    service: { id: serviceId }, tags: null, created_at: 1, updated_at: 1,
  };
}

export function benchSnapshot(upstreamPort: number, plugins: BenchPlugins): ConfigSnapshot {
  const withPlugins = plugins === 'auth';
  const logging = plugins === 'logging';
  const sid = '11111111-1111-4111-8111-111111111111';
  const cid = '22222222-2222-4222-8222-222222222222';
  const route = benchRoute(1, sid, ['/']);
  const p = (id: string, name: string, config: Record<string, unknown>) => ({
    id, name, instance_name: null, config, enabled: true, protocols: ['http', 'https'], service: null, route: { id: route.id }, consumer: null, tags: null, created_at: 1, updated_at: 1,
  });
  return {
    config_version: 1,
    services: [{ id: sid, name: 'bench', protocol: 'http', host: '127.0.0.1', port: upstreamPort, path: null, retries: 5, connect_timeout: 60000, write_timeout: 60000, read_timeout: 60000, enabled: true, tags: null, created_at: 1, updated_at: 1 }],
    routes: [route],
    consumers: withPlugins || logging ? [{ id: cid, username: 'bench', custom_id: null, tags: null, created_at: 1, updated_at: 1 }] : [],
    plugins: withPlugins
      ? [
          p('33333333-3333-4333-8333-333333333331', 'key-auth', {}),
          p('33333333-3333-4333-8333-333333333332', 'rate-limiting', { second: 1_000_000_000, hour: 1_000_000_000_000, limit_by: 'consumer' }),
          p('33333333-3333-4333-8333-333333333333', 'prometheus', { status_code_metrics: true, latency_metrics: true }),
        ]
      : logging
        ? [
            p('33333333-3333-4333-8333-333333333334', 'jwt', {}),
            p('33333333-3333-4333-8333-333333333335', 'correlation-id', { echo_downstream: true }),
            p('33333333-3333-4333-8333-333333333336', 'http-log', { http_endpoint: `http://127.0.0.1:${upstreamPort}/log`, queue: { max_batch_size: 100, max_coalescing_delay: 0.1 } }),
          ]
        : [],
    upstreams: [],
    targets: [],
    keyauth_credentials: withPlugins ? [{ id: '44444444-4444-4444-8444-444444444444', key: BENCH_KEY, consumer: { id: cid }, ttl: null, tags: null, created_at: 1 }] : [],
    jwt_secrets: logging ? [{ id: '55555555-5555-4555-8555-555555555555', key: JWT_KEY, secret: JWT_SECRET, algorithm: 'HS256', rsa_public_key: null, consumer: { id: cid }, tags: null, created_at: 1 }] : [],
  };
}
