// Fuzz: hundreds of generated malformed requests (seeded, so a failure replays). None may get
// a 5xx, none may crash the node, and the database must be exactly as before.
import { afterAll, beforeAll, expect, test } from 'vitest';
import http from 'node:http';
import net from 'node:net';
import type pg from 'pg';
import { testDatabase } from '../support/pg.ts';
import { createPool } from '../../src/db/pool.ts';
import { bootstrap } from '../../src/db/migrate.ts';
import { freePort } from '../../src/db/embedded.ts';
import { createAdminServer, type AdminServer } from '../../src/admin/index.ts';
import { insertEntity } from '../../src/db/write.ts';
import { z } from 'zod';
import { plugins } from '../../src/plugins/registry.ts';

plugins['gossamer-fuzz-plugin'] = {
  name: 'gossamer-fuzz-plugin',
  priority: 1,
  schema: z.strictObject({ minute: z.number().optional(), policy: z.enum(['local', 'cluster']).default('local') }) as never,
  handler: async () => ({}),
};

const SEED = Number(process.env.FUZZ_SEED ?? 20261127);
const N = 600;
const TABLES = ['services', 'routes', 'consumers', 'plugins', 'upstreams', 'targets', 'keyauth_credentials', 'cluster_events', 'cluster_nodes', 'cluster_settings', 'schema_migrations'];

function mulberry32(seed: number) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

let pool: pg.Pool;
let admin: AdminServer;
let port: number;
const seeds: Record<string, string> = {};

beforeAll(async () => {
  const db = await testDatabase('fuzz');
  pool = createPool(db.conf);
  await bootstrap(pool);
  const svc = (await insertEntity(pool, 'services', { name: 'seed-svc', host: 'seed.test' })).entity!;
  const route = (await insertEntity(pool, 'routes', { name: 'seed-route', paths: ['/seed'], service: { id: svc.id } })).entity!;
  const consumer = (await insertEntity(pool, 'consumers', { username: 'seed-consumer' })).entity!;
  const up = (await insertEntity(pool, 'upstreams', { name: 'seed.upstream' })).entity!;
  const target = (await insertEntity(pool, 'targets', { upstream: { id: up.id }, target: 'seed.target:80' })).entity!;
  const plugin = (await insertEntity(pool, 'plugins', { name: 'gossamer-fuzz-plugin', service: { id: svc.id } })).entity!;
  const cred = (await insertEntity(pool, 'keyauth_credentials', { consumer: { id: consumer.id }, key: 'seed-key' })).entity!;
  Object.assign(seeds, { svc: svc.id, route: route.id, consumer: consumer.id, up: up.id, target: target.id, plugin: plugin.id, cred: cred.id });
  admin = createAdminServer({
    pool,
    nodeInfo: { id: '3a8b2c1d-0e9f-4a7b-8c6d-5e4f3a2b1c0d', name: 'fuzz', hostname: 'fuzz', version: '0.1.0', role: 'traditional' },
    configSummary: {},
  });
  port = (await admin.listen('127.0.0.1', await freePort())).port;
});

afterAll(async () => {
  await admin?.close();
  await pool?.end();
});

interface Req {
  kind: string;
  method: string;
  path: string;
  headers?: Record<string, string>;
  body?: string | Buffer;
}

/** Bytes no HTTP client would send: broken request lines and headers. */
function sendRaw(raw: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const sock = net.connect(port, '127.0.0.1', () => sock.end(raw));
    const chunks: Buffer[] = [];
    sock.on('data', (c) => chunks.push(c));
    sock.on('error', reject);
    sock.on('close', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      const m = /^HTTP\/1\.1 (\d{3})/.exec(text);
      resolve({ status: m ? Number(m[1]) : 0, body: text.split('\r\n\r\n').slice(1).join('\r\n\r\n') });
    });
  });
}

function send(r: Req): Promise<{ status: number; body: string }> {
  if (r.method === 'RAW') return sendRaw(String(r.body));
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: '127.0.0.1', port, method: r.method, path: r.path, headers: { connection: 'close', ...r.headers }, agent: false },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      },
    );
    req.on('error', (err) => {
      // The server may answer (e.g. 413) and close before a huge body is fully sent.
      if ((err as NodeJS.ErrnoException).code === 'EPIPE' || (err as NodeJS.ErrnoException).code === 'ECONNRESET') resolve({ status: 499, body: '' });
      else reject(err);
    });
    if (r.body !== undefined) req.write(r.body);
    req.end();
  });
}

async function snapshotCounts() {
  const out: Record<string, number> = {};
  for (const t of TABLES) out[t] = Number((await pool.query(`SELECT count(*) AS n FROM ${t}`)).rows[0].n);
  const v = await pool.query('SELECT COALESCE(max(config_version), 0) AS v, md5(string_agg(id::text, \',\' ORDER BY id)) AS h FROM cluster_events');
  out.max_version = Number(v.rows[0].v);
  const h = await pool.query(`SELECT md5(string_agg(t::text, ',' ORDER BY t::text)) AS h FROM (
      SELECT row_to_json(s)::text AS t FROM services s UNION ALL SELECT row_to_json(r)::text FROM routes r
      UNION ALL SELECT row_to_json(c)::text FROM consumers c UNION ALL SELECT row_to_json(p)::text FROM plugins p
      UNION ALL SELECT row_to_json(u)::text FROM upstreams u UNION ALL SELECT row_to_json(g)::text FROM targets g
      UNION ALL SELECT row_to_json(k)::text FROM keyauth_credentials k) x`);
  return { counts: out, hash: h.rows[0].h as string };
}

function generator(rand: () => number) {
  const int = (n: number) => Math.floor(rand() * n);
  const pick = <T,>(xs: readonly T[]): T => xs[int(xs.length)]!;
  const str = (n: number) => Array.from({ length: n }, () => String.fromCharCode(32 + int(95))).join('');
  const wild = (n: number) => Array.from({ length: n }, () => String.fromCodePoint(pick([0, 1, 0x7f, 0xa0, 0x2028, 0xfffd, 0x1f600, 34, 92, 47, 37]))).join('');
  const badUuid = () =>
    pick([
      'not-a-uuid',
      '123',
      '00000000-0000-0000-0000-00000000000g',
      '00000000000000000000000000000000',
      '{00000000-0000-0000-0000-000000000000}',
      ' 6f1c1b0e-8d62-4e0a-9d7c-5a4b3c2d1e0f',
      '6f1c1b0e-8d62-4e0a-9d7c-5a4b3c2d1e0f0',
      '',
      'ñññ',
      '%00',
    ]);
  const wrongValue = (expected: 'string' | 'int' | 'bool' | 'array' | 'record'): unknown => {
    const all: Record<string, unknown[]> = {
      string: [1, 1.5, true, [], {}, [1], { a: 1 }],
      int: ['1', 'abc', 1.5, true, [], {}, 1e300, -1e300, null === null ? 'NaN' : 0],
      bool: ['yes', 1, 0, [], {}, 'true '],
      array: ['x', 1, true, { 0: 'a' }],
      record: ['x', 1, true, [1, 2]],
    };
    return pick(all[expected]!);
  };
  // Entity → (path, a valid-looking base body, typed fields) for POST / PUT / PATCH.
  const targets: { path: () => string; methods: string[]; base: Record<string, unknown>; fields: Record<string, 'string' | 'int' | 'bool' | 'array' | 'record'> }[] = [
    { path: () => '/services', methods: ['POST'], base: { host: 'x.test' }, fields: { host: 'string', port: 'int', retries: 'int', protocol: 'string', tags: 'array', enabled: 'bool', path: 'string', connect_timeout: 'int' } },
    { path: () => pick(['/services/seed-svc', `/services/${seeds.svc}`]), methods: ['PATCH', 'PUT'], base: { host: 'x.test' }, fields: { host: 'string', port: 'int', retries: 'int', tags: 'array', enabled: 'bool' } },
    { path: () => '/routes', methods: ['POST'], base: { paths: ['/x'] }, fields: { paths: 'array', methods: 'array', hosts: 'array', headers: 'record', strip_path: 'bool', regex_priority: 'int', protocols: 'array', service: 'record' } },
    // Nested: the URL sets `service` (as in Kong), so it is not a field to break here.
    { path: () => '/services/seed-svc/routes', methods: ['POST'], base: { paths: ['/x'] }, fields: { paths: 'array', methods: 'array', hosts: 'array', headers: 'record', strip_path: 'bool', protocols: 'array' } },
    { path: () => pick(['/routes/seed-route', `/routes/${seeds.route}`]), methods: ['PATCH', 'PUT'], base: { paths: ['/y'] }, fields: { paths: 'array', hosts: 'array', strip_path: 'bool', https_redirect_status_code: 'int' } },
    { path: () => '/consumers', methods: ['POST'], base: { username: 'fz' }, fields: { username: 'string', custom_id: 'string', tags: 'array' } },
    { path: () => `/consumers/${seeds.consumer}`, methods: ['PATCH', 'PUT'], base: { username: 'fz2' }, fields: { username: 'string', custom_id: 'string' } },
    // PUT by username takes the username from the URL (Kong's upsert_by_*), so only custom_id here.
    { path: () => '/consumers/seed-consumer', methods: ['PATCH', 'PUT'], base: { custom_id: 'fz2' }, fields: { custom_id: 'string', tags: 'array' } },
    { path: () => '/plugins', methods: ['POST'], base: { name: 'gossamer-fuzz-plugin' }, fields: { name: 'string', config: 'record', enabled: 'bool', protocols: 'array', route: 'record' } },
    { path: () => pick(['/consumers/seed-consumer/plugins', '/routes/seed-route/plugins']), methods: ['POST'], base: { name: 'gossamer-fuzz-plugin' }, fields: { name: 'string', config: 'record', enabled: 'bool', protocols: 'array' } },
    { path: () => `/plugins/${seeds.plugin}`, methods: ['PATCH', 'PUT'], base: { name: 'gossamer-fuzz-plugin' }, fields: { config: 'record', enabled: 'bool' } },
    { path: () => '/upstreams', methods: ['POST'], base: { name: 'fz.upstream' }, fields: { name: 'string', slots: 'int', algorithm: 'string', healthchecks: 'record', hash_on: 'string' } },
    { path: () => pick(['/upstreams/seed.upstream/targets', `/upstreams/${seeds.up}/targets`]), methods: ['POST'], base: { target: 'fz.test:81' }, fields: { target: 'string', weight: 'int' } },
    { path: () => pick(['/consumers/seed-consumer/key-auth', `/consumers/${seeds.consumer}/key-auth`]), methods: ['POST'], base: { key: 'fz-key' }, fields: { key: 'string', ttl: 'int', tags: 'array' } },
    { path: () => `/key-auths/${seeds.cred}`, methods: ['PATCH', 'PUT'], base: { key: 'fz-key-2' }, fields: { key: 'string', ttl: 'int' } },
  ];
  const json = { 'content-type': 'application/json' };
  const form = { 'content-type': 'application/x-www-form-urlencoded' };

  const kinds: Record<string, () => Req> = {
    wrongType: () => {
      const t = pick(targets);
      const [field, type] = pick(Object.entries(t.fields));
      return { kind: 'wrongType', method: pick(t.methods), path: t.path(), headers: json, body: JSON.stringify({ ...t.base, [field]: wrongValue(type) }) };
    },
    hugeString: () => {
      const t = pick(targets);
      const field = pick(Object.entries(t.fields).filter(([, ty]) => ty === 'string').map(([f]) => f).concat(['bogus']));
      return { kind: 'hugeString', method: pick(t.methods), path: t.path(), headers: json, body: JSON.stringify({ ...t.base, [field]: str(2000 + int(400_000)) }) };
    },
    hugeArray: () => {
      const t = pick(targets);
      const field = pick(Object.entries(t.fields).filter(([, ty]) => ty === 'array').map(([f]) => f).concat(['tags']));
      const n = 1001 + int(60_000);
      return { kind: 'hugeArray', method: pick(t.methods), path: t.path(), headers: json, body: JSON.stringify({ ...t.base, [field]: Array.from({ length: n }, (_, i) => `/${i}`) }) };
    },
    unknownField: () => {
      const t = pick(targets);
      const name = pick(['bogus', 'ID', 'url2', '__proto__', 'constructor', 'created', str(1 + int(30)).replace(/[^a-z]/gi, 'x') + '_zz', 'config.minute', '']);
      const body = `{${Object.entries(t.base).map(([k, v]) => `${JSON.stringify(k)}:${JSON.stringify(v)}`).join(',')},${JSON.stringify(name)}:${JSON.stringify(pick([1, 'x', null, [], {}]) ?? 'x')}}`;
      return { kind: 'unknownField', method: pick(t.methods), path: t.path(), headers: json, body };
    },
    brokenJson: () => {
      const t = pick(targets);
      const good = JSON.stringify({ ...t.base, tags: ['a', 'b'], bogus: 1 });
      const broken = pick([
        () => good.slice(0, 1 + int(good.length - 2)),
        () => good.replace('}', ',}'),
        () => good.replace(':', ''),
        () => `${good}${good}`,
        () => "{'single': 'quotes'}",
        () => '{"a": NaN}',
        () => '{"a": undefined}',
        () => '\u0000\u0001\u0002',
        () => '[1,2,3]',
        () => '"just a string"',
        () => 'null',
        () => '123',
        () => '{"a":1}garbage',
        () => '\ufeff{"host":"x.test","bogus":1}',
      ])();
      return { kind: 'brokenJson', method: pick(t.methods), path: t.path(), headers: json, body: broken };
    },
    deepNesting: () => {
      const t = pick(targets);
      const depth = pick([65, 100, 1000, 10_000, 100_000]);
      const field = pick(['config', 'headers', 'tags', 'service', 'healthchecks', 'bogus']);
      const nested = rand() < 0.5 ? '['.repeat(depth) + ']'.repeat(depth) : '{"a":'.repeat(depth) + '1' + '}'.repeat(depth);
      return { kind: 'deepNesting', method: pick(t.methods), path: t.path(), headers: json, body: `{${JSON.stringify(Object.keys(t.base)[0])}:${JSON.stringify(Object.values(t.base)[0])},"${field}":${nested}}` };
    },
    badUuid: () => {
      const bad = badUuid();
      return pick<Req>([
        { kind: 'badUuid', method: 'POST', path: '/routes', headers: json, body: JSON.stringify({ paths: ['/z'], service: { id: bad } }) },
        { kind: 'badUuid', method: 'POST', path: '/plugins', headers: json, body: JSON.stringify({ name: 'gossamer-fuzz-plugin', consumer: { id: bad } }) },
        { kind: 'badUuid', method: 'POST', path: '/consumers/seed-consumer/key-auth', headers: json, body: JSON.stringify({ id: bad }) },
        { kind: 'badUuid', method: 'POST', path: '/services', headers: json, body: JSON.stringify({ id: bad, host: 'x.test' }) },
        { kind: 'badUuid', method: pick(['GET', 'PATCH', 'DELETE']), path: `/routes/${encodeURIComponent(bad)}x`, headers: json, body: '{"bogus":1}' },
        { kind: 'badUuid', method: 'GET', path: `/services/${encodeURIComponent(bad)}/routes` },
        { kind: 'badUuid', method: 'POST', path: `/upstreams/${encodeURIComponent(bad)}zz/targets`, headers: json, body: '{"target":"a.test"}' },
        { kind: 'badUuid', method: 'PUT', path: `/services/${encodeURIComponent(bad)}%20x`, headers: json, body: JSON.stringify({ host: 'x.test', id: bad || 'x' }) },
      ]);
    },
    badForm: () => {
      const t = pick(targets);
      const body = pick([
        () => 'paths[=/a&bogus=1',
        () => 'a[99999]=1',
        () => '=x&=y',
        () => 'name&&&bogus',
        () => 'x[1]a=2',
        () => '%E0%A4%A=1&%zz=2&bogus=1',
        () => 'paths[]=/a&paths.x=1',
        () => 'config..minute=5&name=gossamer-fuzz-plugin',
        () => 'tags[]=a&tags=b&tags[x]=c',
        () => Array.from({ length: 1001 + int(500) }, (_, i) => `f${i}=1`).join('&'),
        () => `${Object.keys(t.fields)[0]}[]=${encodeURIComponent(str(20))}&${Object.keys(t.fields)[0]}.x=1`,
        () => 'a.b.c.d.e.f.g.h.i.j.k.l.m.n.o.p.q.r.s=1',
        () => '__proto__[x]=1&constructor.prototype.y=2',
        () => `bogus=${encodeURIComponent(wild(50))}`,
        () => `port=abc&host=${encodeURIComponent(wild(10))}&retries=1.5.5`,
      ])();
      return { kind: 'badForm', method: pick(t.methods), path: t.path(), headers: form, body };
    },
    badMethod: () =>
      pick<Req>([
        { kind: 'badMethod', method: pick(['PROPFIND', 'MKCOL', 'LOCK', 'PURGE', 'REPORT', 'SEARCH']), path: pick(['/services', '/', `/services/${seeds.svc}`]) },
        { kind: 'badMethod', method: 'DELETE', path: pick(['/', '/status', '/services', '/plugins/enabled']) },
        { kind: 'badMethod', method: 'PUT', path: pick(['/services', '/routes', '/status']), headers: json, body: '{"host":"x.test"}' },
        { kind: 'badMethod', method: 'POST', path: pick(['/', '/status', `/services/${seeds.svc}`, '/plugins/enabled']), headers: json, body: '{"host":"x.test"}' },
        { kind: 'badMethod', method: 'PATCH', path: pick(['/services', '/consumers']), headers: json, body: '{}' },
        { kind: 'badMethod', method: pick(['FOO', 'GETT', 'BREW']), path: '/services' },
        { kind: 'badMethod', method: 'RAW', path: '', body: pick(['G E T /services HTTP/1.1\r\nHost: x\r\n\r\n', 'GET /services HTTP/9.9\r\n\r\n', 'GET\r\n\r\n', 'POST /services HTTP/1.1\r\nContent-Length: -5\r\n\r\n', 'GET /services HTTP/1.1\r\nBad Header\r\n\r\n', '\x00\x01\x02\r\n\r\n']) },
      ]),
    badQuery: () => ({
      kind: 'badQuery',
      method: 'GET',
      path: pick([
        '/services?size=-1',
        '/services?size=0',
        '/services?size=1e9',
        '/services?size=abc',
        '/routes?offset=%%%',
        '/routes?offset=WyJub3QtYS11dWlkIl0=',
        '/consumers?offset=' + 'A'.repeat(5000),
        '/services?tags=a,b/c',
        '/services?tags=' + encodeURIComponent(wild(20)),
        '/plugins?size=1001',
        '/services/%E0%A4%A',
        '/services/..%2F..%2Fetc',
      ]),
    }),
    badContent: () => {
      const t = pick(targets);
      return pick<Req>([
        { kind: 'badContent', method: pick(t.methods), path: t.path(), headers: { 'content-type': 'text/plain' }, body: 'host=x.test' },
        { kind: 'badContent', method: pick(t.methods), path: t.path(), headers: { 'content-type': 'multipart/form-data' }, body: '--x\r\n' },
        { kind: 'badContent', method: pick(t.methods), path: t.path(), headers: { 'content-type': 'multipart/form-data; boundary=zz' }, body: '--zz\r\nContent-Disposition: form-data; name="bogus"\r\n\r\n1\r\n--zz--\r\n' },
        { kind: 'badContent', method: pick(t.methods), path: t.path(), headers: { 'content-type': 'application/json' }, body: Buffer.from([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x3a, 0x31, 0x7d]) },
        { kind: 'badContent', method: pick(t.methods), path: t.path(), headers: { 'content-type': 'application/json', 'content-length': '99999999' }, body: '{}' },
      ]);
    },
    nulBytes: () =>
      pick<Req>([
        { kind: 'nulBytes', method: 'POST', path: '/consumers', headers: json, body: JSON.stringify({ username: `nul\u0000${int(1000)}` }) },
        { kind: 'nulBytes', method: 'POST', path: '/routes', headers: json, body: JSON.stringify({ paths: ['/nul'], headers: { 'x-a': [`v\u0000${int(1000)}`] } }) },
        { kind: 'nulBytes', method: 'PATCH', path: '/consumers/seed-consumer', headers: json, body: JSON.stringify({ custom_id: `c\u0000` }) },
        { kind: 'nulBytes', method: 'POST', path: '/consumers/seed-consumer/key-auth', headers: json, body: JSON.stringify({ key: `k\u0000${int(1000)}` }) },
      ]),
  };
  return { kinds, next: () => kinds[pick(Object.keys(kinds))]!() };
}

test(`${N} malformed requests (seed ${SEED}): no 5xx, no crash, database unchanged`, { timeout: 240_000 }, async () => {
  const before = await snapshotCounts();
  const gen = generator(mulberry32(SEED));
  // Every kind at least 20 times, then random kinds.
  const reqs: Req[] = [];
  for (const k of Object.keys(gen.kinds)) for (let i = 0; i < 20; i++) reqs.push(gen.kinds[k]!());
  while (reqs.length < N) reqs.push(gen.next());

  const failures: string[] = [];
  const byStatus: Record<number, number> = {};
  const queue = [...reqs];
  const worker = async () => {
    for (let r = queue.shift(); r; r = queue.shift()) {
      const res = await send(r);
      byStatus[res.status] = (byStatus[res.status] ?? 0) + 1;
      const bodyInfo = r.body === undefined ? '' : ` body[${r.body.length}]=${String(r.body).slice(0, 120)}`;
      if (res.status >= 500 || res.status < 400) failures.push(`${r.kind}: ${r.method} ${r.path.slice(0, 120)} → ${res.status} ${res.body.slice(0, 200)}${bodyInfo}`);
      if (res.body && res.status !== 499) {
        try {
          const parsed = JSON.parse(res.body);
          if (typeof parsed.message !== 'string') failures.push(`${r.kind}: body without message: ${res.body.slice(0, 200)}`);
        } catch {
          failures.push(`${r.kind}: non-JSON body ${res.body.slice(0, 100)}`);
        }
      }
    }
  };
  await Promise.all(Array.from({ length: 6 }, worker));

  console.log("fuzz statuses", JSON.stringify(byStatus));
  expect(failures).toEqual([]);
  expect(reqs.length).toBeGreaterThanOrEqual(500);
  const after = await snapshotCounts();
  expect(after).toEqual(before);
  // Still serving.
  const alive = await send({ kind: 'alive', method: 'GET', path: '/status' });
  expect(alive.status).toBe(200);
  expect(JSON.parse(alive.body).database.reachable).toBe(true);
  expect(Object.keys(byStatus).every((s) => Number(s) < 500)).toBe(true);
});
