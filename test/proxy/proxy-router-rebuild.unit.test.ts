// Successive routers reuse compiled matchers of unchanged routes; a changed route or service
// (a new object in the store) must be compiled afresh.
import { expect, test } from 'vitest';
import { Router } from '../../src/proxy/router.ts';
import type { Route, Service } from '../../src/entities/types.ts';

const service = (id: string, extra: Partial<Service> = {}): Service => ({
  id, name: id, protocol: 'http', host: '127.0.0.1', port: 80, path: null, retries: 5,
  connect_timeout: 1000, write_timeout: 1000, read_timeout: 1000, enabled: true, tags: null, created_at: 1, updated_at: 1, ...extra,
});
const route = (id: string, paths: string[], svc: string): Route => ({
  id, name: id, protocols: ['http', 'https'], methods: null, hosts: null, paths, headers: null, https_redirect_status_code: 426,
  regex_priority: 0, strip_path: true, path_handling: 'v0', preserve_host: false, request_buffering: true, response_buffering: true,
  snis: null, sources: null, destinations: null, service: { id: svc }, tags: null, created_at: 1, updated_at: 1,
});
const facts = (path: string) => ({ method: 'GET', host: 'x', port: 80, path, headers: {} });

test('a replaced route or service is recompiled; untouched routes keep matching', () => {
  const s1 = service('s1');
  const services = new Map([[s1.id, s1]]);
  const a = route('a', ['/a'], 's1');
  const b = route('b', ['/b'], 's1');
  const r1 = new Router([a, b], (r) => services.get(r.service!.id));
  expect(r1.match(facts('/a/x'))?.route.id).toBe('a');

  const a2 = { ...a, paths: ['/a2'] };
  const r2 = new Router([a2, b], (r) => services.get(r.service!.id));
  expect(r2.match(facts('/a/x'))).toBeNull();
  expect(r2.match(facts('/a2/x'))?.route.id).toBe('a');
  expect(r2.match(facts('/b'))?.route.id).toBe('b');
  // The router built before still answers by its own configuration.
  expect(r1.match(facts('/a/x'))?.route.id).toBe('a');

  const s1b = service('s1', { enabled: false });
  services.set('s1', s1b);
  const r3 = new Router([a2, b], (r) => services.get(r.service!.id));
  expect(r3.match(facts('/b'))).toBeNull();
});
