import { expect, test } from 'vitest';
import { ConfigHasher, configHash, stableStringify } from '../../src/cache/config-hash.ts';
import { NodeCache } from '../../src/cache/node-cache.ts';
import type { ChangeEvent, ConfigSnapshot, Service } from '../../src/entities/types.ts';

const svc = (id: string, name: string, extra: Partial<Service> = {}): Service => ({
  id,
  name,
  protocol: 'http',
  host: `${name}.example.com`,
  port: 80,
  path: null,
  retries: 5,
  connect_timeout: 60000,
  write_timeout: 60000,
  read_timeout: 60000,
  enabled: true,
  tags: null,
  created_at: 1700000000,
  updated_at: 1700000000,
  ...extra,
});

const empty = (): ConfigSnapshot => ({ config_version: 0, services: [], routes: [], consumers: [], plugins: [], upstreams: [], targets: [], keyauth_credentials: [] });

const ev = (v: number, op: ChangeEvent['op'], data: Service | null, id = data!.id): ChangeEvent => ({
  id: `00000000-0000-4000-8000-${String(v).padStart(12, '0')}`,
  config_version: v,
  channel: 'invalidations',
  entity: 'services',
  op,
  entity_id: id,
  cache_keys: [`services:${id}`],
  data,
  node_id: null,
  at: 0,
});

test('stable JSON sorts keys at every depth and drops undefined like JSON.stringify', () => {
  expect(stableStringify({ b: 1, a: { d: [3, { y: 1, x: 2 }], c: undefined } })).toBe('{"a":{"d":[3,{"x":2,"y":1}]},"b":1}');
  expect(stableStringify({ a: 1, b: 2 })).toBe(stableStringify({ b: 2, a: 1 }));
});

test('same configuration, same hash, whatever the insertion order; a change changes it', () => {
  const a = svc('11111111-1111-4111-8111-111111111111', 'a');
  const b = svc('22222222-2222-4222-8222-222222222222', 'b');
  const h1 = configHash({ ...empty(), services: [a, b] });
  const h2 = configHash({ ...empty(), services: [b, { ...a }] });
  expect(h1).toMatch(/^[0-9a-f]{32}$/);
  expect(h2).toBe(h1);
  expect(configHash({ ...empty(), services: [a, { ...b, port: 81 }] })).not.toBe(h1);
  // The same row under another entity name is another configuration.
  expect(configHash({ ...empty(), consumers: [a as never] })).not.toBe(configHash({ ...empty(), services: [a] }));
  expect(configHash(empty())).not.toBe(h1);
});

test('the incremental hash equals a fresh build after adds, updates and removes in any order', () => {
  const rows = Array.from({ length: 20 }, (_, i) => svc(`00000000-0000-4000-8000-0000000000${String(i).padStart(2, '0')}`, `s${i}`));
  const h = new ConfigHasher();
  for (const r of rows) h.add('services', r);
  for (const r of rows.slice(0, 5)) h.remove('services', r);
  const updated = { ...rows[7]!, retries: 9 };
  h.remove('services', rows[7]);
  h.add('services', updated);
  const final = [...rows.slice(5).filter((r) => r.id !== updated.id), updated].reverse();
  expect(h.value()).toBe(configHash({ ...empty(), services: final }));
});

test('the node cache converges to the same state and hash whatever order events arrive in', () => {
  const a = svc('11111111-1111-4111-8111-111111111111', 'a');
  const events = [
    ev(1, 'create', a),
    ev(2, 'update', { ...a, retries: 1 }),
    ev(3, 'update', { ...a, retries: 2 }),
    ev(4, 'delete', null, a.id),
    ev(5, 'create', svc('22222222-2222-4222-8222-222222222222', 'b')),
  ];
  const load = (c: NodeCache) => c.load(empty(), { versions: [], entityVersions: new Map(), xmax: 1n });
  const inOrder = new NodeCache();
  load(inOrder);
  inOrder.apply(events);
  const shuffled = new NodeCache();
  load(shuffled);
  for (const i of [3, 1, 4, 0, 2, 1]) shuffled.apply([events[i]!]);
  expect(shuffled.configHash).toBe(inOrder.configHash);
  expect(shuffled.store.get('services', a.id)).toBeUndefined(); // the delete (v4) beats the older updates
  expect(shuffled.configVersion).toBe(5);
  expect(shuffled.versions.low).toBe(5);
  expect(inOrder.configHash).toBe(configHash({ ...empty(), services: [events[4]!.data as Service] }));
});
