// The proxy runtime applies change events to its router and plugin chains without rebuilding
// everything: a route that moves to another service gets that service's plugins, a deleted
// route stops matching, and changes made together are live once settled.
import { afterAll, expect, test } from 'vitest';
import pino from 'pino';
import type { ChangeEvent, ConfigSnapshot, Plugin, Route, Service } from '../../src/entities/types.ts';
import { ProxyRuntime } from '../../src/proxy/runtime.ts';
import { loadPluginHandlers } from '../../src/proxy/plugin-chain.ts';
import { LocalCounters } from '../../src/proxy/counters.ts';

const counters = new LocalCounters();
afterAll(() => counters.close());

const service = (id: string): Service => ({
  id, name: id, protocol: 'http', host: '127.0.0.1', port: 80, path: null, retries: 5,
  connect_timeout: 1000, write_timeout: 1000, read_timeout: 1000, enabled: true, tags: null, created_at: 1, updated_at: 1,
});
const route = (id: string, svc: string, paths: string[]): Route => ({
  id, name: id, protocols: ['http', 'https'], methods: null, hosts: null, paths, headers: null, https_redirect_status_code: 426,
  regex_priority: 0, strip_path: true, path_handling: 'v0', preserve_host: false, request_buffering: true, response_buffering: true,
  snis: null, sources: null, destinations: null, service: { id: svc }, tags: null, created_at: 1, updated_at: 1,
});
let version = 0;
const upsert = (entity: 'routes' | 'services', data: Route | Service): ChangeEvent => ({
  id: `e${++version}`, config_version: version, channel: 'invalidations', entity, op: 'update', entity_id: data.id,
  cache_keys: [], data, node_id: null, at: Date.now(),
});
const del = (entity: 'routes', id: string): ChangeEvent => ({
  id: `e${++version}`, config_version: version, channel: 'invalidations', entity, op: 'delete', entity_id: id,
  cache_keys: [], data: null, node_id: null, at: Date.now(),
});
const facts = (path: string) => ({ method: 'GET', host: 'h', port: 80, path, headers: {} });

test('route moves, deletes and new routes are live after settled(), plugins follow the service', async () => {
  await loadPluginHandlers();
  const rt = new ProxyRuntime({ logger: pino({ level: 'silent' }), counters });
  const keyAuth: Plugin = {
    id: 'p1', name: 'key-auth', instance_name: null, config: {}, enabled: true, protocols: ['http', 'https'],
    route: null, service: { id: 's2' }, consumer: null, tags: null, created_at: 1, updated_at: 1,
  } as unknown as Plugin;
  const snap = {
    config_version: 0, services: [service('s1'), service('s2')], routes: [route('a', 's1', ['/a']), route('b', 's1', ['/b'])],
    consumers: [], plugins: [keyAuth], upstreams: [], targets: [], keyauth_credentials: [],
  } as unknown as ConfigSnapshot;
  rt.loadSnapshot(snap);
  const a = rt.router.match(facts('/a'))!;
  expect(rt.plugins.chainFor(a.route, a.service).map((c) => c.name)).toEqual([]);

  rt.applyChanges([upsert('routes', route('a', 's2', ['/a'])), del('routes', 'b'), upsert('routes', route('c', 's1', ['/c']))]);
  await rt.settled();
  const moved = rt.router.match(facts('/a'))!;
  expect(moved.service?.id).toBe('s2');
  expect(rt.plugins.chainFor(moved.route, moved.service).map((c) => c.name)).toEqual(['key-auth']);
  expect(rt.router.match(facts('/b'))).toBeNull();
  expect(rt.router.match(facts('/c'))?.route.id).toBe('c');

  // A service switched off takes its routes out; switched on again brings them back.
  rt.applyChanges([upsert('services', { ...service('s2'), enabled: false })]);
  await rt.settled();
  expect(rt.router.match(facts('/a'))).toBeNull();
  rt.applyChanges([upsert('services', service('s2'))]);
  await rt.settled();
  expect(rt.router.match(facts('/a'))?.service?.id).toBe('s2');
  rt.close();
});
