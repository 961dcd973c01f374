// The configuration the proxy benchmark runs with: one service on the nginx upstream, one
// route, and for variant (e) key-auth + rate-limiting (a limit never reached) + prometheus.
import type { ConfigSnapshot, Route } from '../../src/entities/types.ts';

export const BENCH_KEY = 'bench-key';

export function benchRoute(i: number, serviceId: string, paths: string[], hosts: string[] | null = null): Route {
  return {
    id: `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`, name: `r${i}`, protocols: ['http', 'https'], methods: null, hosts, paths, headers: null,
    https_redirect_status_code: 426, regex_priority: 0, strip_path: false, path_handling: 'v0', preserve_host: false,
    request_buffering: true, response_buffering: true, snis: null, sources: null, destinations: null,
    service: { id: serviceId }, tags: null, created_at: 1, updated_at: 1,
  };
}

export function benchSnapshot(upstreamPort: number, withPlugins: boolean): ConfigSnapshot {
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
    consumers: withPlugins ? [{ id: cid, username: 'bench', custom_id: null, tags: null, created_at: 1, updated_at: 1 }] : [],
    plugins: withPlugins
      ? [
          p('33333333-3333-4333-8333-333333333331', 'key-auth', {}),
          p('33333333-3333-4333-8333-333333333332', 'rate-limiting', { second: 1_000_000_000, hour: 1_000_000_000_000, limit_by: 'consumer' }),
          p('33333333-3333-4333-8333-333333333333', 'prometheus', { status_code_metrics: true, latency_metrics: true }),
        ]
      : [],
    upstreams: [],
    targets: [],
    keyauth_credentials: withPlugins ? [{ id: '44444444-4444-4444-8444-444444444444', key: BENCH_KEY, consumer: { id: cid }, ttl: null, tags: null, created_at: 1 }] : [],
  };
}
