// Malformed declarative configurations generated from a seed: a valid configuration with one to
// three mutations, at least one of which is sure to make it invalid, or text that is no
// configuration at all. The same seed gives the same cases (GOSSAMER_FUZZ_SEED picks another).
import { stringify } from 'yaml';

export interface FuzzCase {
  /** What was done, for the failure message. */
  what: string[];
  /** The body and its content type. */
  body: string;
  contentType: string;
}

/** mulberry32: small, seedable, good enough to pick mutations. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

type Doc = Record<string, any>;

export function validDoc(echoPort = 9): Doc {
  return {
    _format_version: '3.0',
    services: [
      {
        name: 'svc-a',
        url: `http://127.0.0.1:${echoPort}/a`,
        routes: [{ name: 'route-a', paths: ['/a'], plugins: [{ name: 'cors' }] }],
        plugins: [{ name: 'rate-limiting', config: { minute: 10, policy: 'local' } }],
      },
      { name: 'svc-b', host: 'example.test', port: 8080 },
    ],
    routes: [{ name: 'route-b', service: 'svc-b', paths: ['/b'], methods: ['GET'] }],
    consumers: [{ username: 'alice', keyauth_credentials: [{ key: 'alice-key' }], acls: [{ group: 'admins' }] }, { username: 'bob', custom_id: 'bob-1' }],
    upstreams: [{ name: 'up', targets: [{ target: '127.0.0.1:9001', weight: 10 }] }],
    plugins: [{ name: 'key-auth', route: 'route-b' }],
  };
}

const WRONG_VALUES: unknown[] = [-1, 'not-a-number', [], {}, true, 1e12, '', [1, [2]], { nested: { deep: [null] } }];
const pick = <T>(r: () => number, list: readonly T[]): T => list[Math.floor(r() * list.length)]!;

/** Mutations that always make the document invalid. */
const BREAKERS: ((d: Doc, r: () => number) => string)[] = [
  (d, r) => ((d.services[1].port = pick(r, [-1, 70000, 'abc', 1.5])), 'services[1].port out of range'),
  (d) => (delete d.services[1].host, 'services[1] without host'),
  (d, r) => ((d.routes[0].paths = [pick(r, ['no-slash', '', 'x//y'])]), 'routes[0].paths invalid'),
  (d, r) => ((pick(r, [d.services[0], d.consumers[0], d.upstreams[0], d.routes[0]]).bogus_field = 1), 'unknown field'),
  (d, r) => ((d._format_version = pick(r, ['4.0', '', 3, null, '3'])), '_format_version wrong'),
  (d) => ((d.routes[0].service = 'no-such-service'), 'dangling service reference'),
  (d) => (d.consumers.push({ username: 'alice' }), 'duplicate username'),
  (d) => (d.plugins.push({ name: 'no-such-plugin' }), 'unknown plugin'),
  (d, r) => ((d.upstreams[0].targets[0].weight = pick(r, ['x', -5, 70000])), 'target weight invalid'),
  (d, r) => ((d[pick(r, ['consumers', 'services', 'upstreams'])] = pick(r, [5, 'text', { a: 1 }])), 'entity list not a list'),
  (d, r) => ((d.consumers[1] = pick(r, [5, 'text', null, []])), 'entity not a record'),
  (d) => ((d.consumers[0].keyauth_credentials[0].key = 123), 'credential key not a string'),
  (d) => ((d.services[0].plugins[0].config.minute = 'many'), 'plugin config invalid'),
  (d) => ((d.services[0].routes[0].service = 'svc-b'), 'nested route names its service'),
  (d) => ((d.unknown_top_level = []), 'unknown top-level key'),
  (d) => (d.services.push({ ...d.services[1], name: 'svc-a' }), 'duplicate service name'),
  (d, r) => ((d.services[0].id = pick(r, ['not-a-uuid', 42])), 'id not a UUID'),
  (d) => ((d._transform = 'yes'), '_transform not a boolean'),
];

/** Mutations that may or may not break it (they only add to what a breaker did). */
const NOISE: ((d: Doc, r: () => number) => string)[] = [
  (d, r) => ((d.services[0].retries = pick(r, WRONG_VALUES)), 'services[0].retries noise'),
  (d, r) => ((d.consumers[0].tags = pick(r, [['ok'], 'x', [1]])), 'tags noise'),
  (d) => ((d._comment = 'a comment'), '_comment'),
  (d, r) => ((d.routes[0].methods = pick(r, [['GET'], 'GET', [5]])), 'methods noise'),
];

const GARBAGE = ['bobby tables', '[1, 2, 3]', '42', '{', '{"_format_version": "3.0", "services": [', ':\n- : -', '\u0000\u0001binary', 'null', '"a string"', '- just\n- a\n- list\n'];

export function fuzzCases(seed: number, count: number, echoPort = 9): FuzzCase[] {
  const r = rng(seed);
  const out: FuzzCase[] = [];
  for (let i = 0; i < count; i++) {
    if (r() < 0.12) {
      const text = r() < 0.5 ? pick(r, GARBAGE) : JSON.stringify(validDoc(echoPort)).slice(0, 1 + Math.floor(r() * 200));
      out.push({ what: ['not a configuration', JSON.stringify(text.slice(0, 40))], body: text, contentType: pick(r, ['application/yaml', 'text/plain']) });
      continue;
    }
    const d = validDoc(echoPort);
    const what = [pick(r, BREAKERS)(d, r)];
    const extra = Math.floor(r() * 3);
    for (let k = 0; k < extra; k++) {
      try {
        what.push(pick(r, r() < 0.5 ? BREAKERS : NOISE)(d, r));
      } catch {
        // a mutation on a part an earlier one replaced: nothing to add
      }
    }
    const form = pick(r, ['json', 'json-config', 'yaml'] as const);
    if (form === 'json') out.push({ what, body: JSON.stringify(d), contentType: 'application/json' });
    else if (form === 'json-config') out.push({ what, body: JSON.stringify({ config: stringify(d) }), contentType: 'application/json' });
    else out.push({ what, body: stringify(d), contentType: 'application/yaml' });
  }
  return out;
}

export const FUZZ_SEED = Number(process.env.GOSSAMER_FUZZ_SEED ?? 14);
