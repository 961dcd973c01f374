// A DB-less node (database = off, cluster_role = traditional) as a Kong user runs one: real
// `gossamer start` processes, an echo upstream, no Postgres anywhere. Cases translated from
// Kong's specs cite the spec file and the `it(...)` name.
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { parse } from 'yaml';
import type { SimNode } from '../../sim/harness/node-process.ts';
import { adminRequest, proxiedStatus } from '../../sim/harness/admin-call.ts';
import { runCli } from '../support/cli.ts';
import { until } from '../support/until.ts';
import { dblessFixture, postConfig, type DblessFixture } from './dbless-support.ts';

let fx: DblessFixture;
let node: SimNode;
let file: string;
const admin = (method: string, url: string, body?: unknown) => adminRequest(node, method, url, body);

const fileText = (echoPort: number) => `_format_version: "2.1"
_comment: a Kong 2 file
services:
- name: echo
  url: http://127.0.0.1:${echoPort}/
  routes:
  - name: numbered
    paths: [/status/\\d+]
  - name: plain
    paths: [/plain]
consumers:
- username: alice
  keyauth_credentials:
  - key: alice-key
`;

beforeAll(async () => {
  fx = await dblessFixture('dbless');
  file = path.join(fx.tmp, 'kong.yml');
  fs.writeFileSync(file, fileText(fx.echo.port));
  node = await fx.node('dbless-a', { declarative_config: file });
  await node.start();
}, 120_000);

afterAll(async () => {
  await fx?.close();
});

describe('declarative_config at start', () => {
  test('a 2.1 file is served, its 2.x regex path read as ~/status/\\d+', async () => {
    expect(await proxiedStatus(node, '/status/42')).toBe(200);
    expect(await proxiedStatus(node, '/status/abc')).toBe(404);
    const routes = (await admin('GET', '/routes')).body.data as { name: string; paths: string[] }[];
    expect(routes.find((r) => r.name === 'numbered')!.paths).toEqual(['~/status/\\d+']);
  });

  test('GET / says database off; /status and /cluster/members give the config_hash; alone without a cluster certificate', async () => {
    const root = (await admin('GET', '/')).body;
    expect(root.configuration.database).toBe('off');
    const status = (await admin('GET', '/status')).body;
    expect(status.configuration_hash).toMatch(/^[0-9a-f]{32}$/);
    expect(status).not.toHaveProperty('database');
    expect(await admin('GET', '/status/ready')).toEqual({ status: 200, body: { message: 'ready' } });
    const members = (await admin('GET', '/cluster/members')).body.data as { name: string; config_hash: string }[];
    expect(members.map((m) => m.name)).toEqual(['dbless-a']);
    expect(members[0]!.config_hash).toBe(status.configuration_hash);
  });

  test('a file with problems stops the start, lists every problem with its place, and starts nothing', async () => {
    const bad = path.join(fx.tmp, 'bad.yml');
    fs.writeFileSync(bad, '_format_version: "3.0"\nservices:\n- name: a\n  port: -1\n  routes:\n  - paths: [nope]\nconsumers:\n- custom_id: 5\n');
    const n = await fx.node('dbless-bad', { declarative_config: bad });
    const r = await runCli(['start', '-c', n.confFile, '-p', n.prefix], { timeoutMs: 60_000 });
    expect(r.code).not.toBe(0);
    const out = r.stdout + r.stderr;
    expect(out).toMatch(/services\[0\]\.host: required field missing/);
    expect(out).toMatch(/services\[0\]\.port: value should be between 0 and 65535/);
    expect(out).toMatch(/services\[0\]\.routes\[0\]\.paths/);
    expect(out).toMatch(/consumers\[0\]\.custom_id: expected a string/);
    expect(await proxiedStatus(n, '/')).toBe(0);
  }, 90_000);
});

// spec/02-integration/04-admin_api/15-off_spec.lua
describe('Admin API writes (15-off_spec.lua)', () => {
  test('/routes "returns HTTP 405 on invalid method"', async () => {
    for (const method of ['DELETE', 'PUT', 'PATCH', 'POST']) {
      const r = await admin(method, '/routes', { paths: ['/'], service: { id: '7e5a4b6c-1111-4222-8333-944455556666' } });
      expect(r.status).toBe(405);
      if (method === 'POST') expect(r.body).toEqual({ code: 12, name: 'operation unsupported', message: "cannot create 'routes' entities when not using a database" });
      else expect(r.body).toEqual({ message: 'Method not allowed' });
    }
  });

  test('/routes/{route} "returns HTTP 405 on invalid method"', async () => {
    const id = '7e5a4b6c-1111-4222-8333-944455556666';
    const put = await admin('PUT', `/routes/${id}`, { paths: ['/'] });
    expect(put.status).toBe(405);
    expect(put.body).toEqual({ code: 12, name: 'operation unsupported', message: "cannot create or update 'routes' entities when not using a database" });
    const post = await admin('POST', `/routes/${id}`, { paths: ['/'] });
    expect(post).toEqual({ status: 405, body: { message: 'Method not allowed' } });
  });

  test("PATCH and DELETE of an entity that exists: 405 with Kong's off-strategy wording; of one that does not: 404 and 204", async () => {
    expect((await admin('PATCH', '/services/echo', { retries: 1 })).body.message).toBe("cannot update 'services' entities by 'name' when not using a database");
    const echoId = (await admin('GET', '/services/echo')).body.id as string;
    expect((await admin('DELETE', `/services/${echoId}`)).body.message).toBe("cannot remove 'services' entities when not using a database");
    expect((await admin('PATCH', '/services/nope', { retries: 1 })).status).toBe(404);
    expect((await admin('DELETE', '/services/nope')).status).toBe(204);
    expect((await admin('POST', '/consumers/alice/key-auth', { key: 'k' })).body.message).toBe("cannot create 'keyauth_credentials' entities when not using a database");
  });

  test('reads work: entities, nested entities, credentials', async () => {
    expect((await admin('GET', '/services/echo/routes')).body.data).toHaveLength(2);
    expect((await admin('GET', '/consumers/alice/key-auth')).body.data[0].key).toBe('alice-key');
  });
});

describe('POST /config (15-off_spec.lua)', () => {
  const consumerOnly = (username: string) => `_format_version: "1.1"\nconsumers:\n- username: ${username}\n`;

  test('"accepts configuration as JSON body", "as YAML body", as a JSON or YAML string under `config`', async () => {
    expect((await postConfig(node, JSON.stringify({ _format_version: '1.1', consumers: [{ username: 'bobby_in_json_body' }] }), 'application/json')).status).toBe(201);
    expect((await postConfig(node, consumerOnly('bobby_in_yaml_body'), 'application/yaml')).status).toBe(201);
    const jsonString = JSON.stringify({ _format_version: '1.1', consumers: [{ username: 'bobby_in_json_under_config' }] });
    expect((await postConfig(node, JSON.stringify({ config: jsonString }), 'application/json')).status).toBe(201);
    const r = await postConfig(node, JSON.stringify({ config: consumerOnly('bobby_in_yaml_under_config') }), 'application/json');
    expect(r.status).toBe(201);
    expect(Object.values(r.body.consumers as Record<string, { username: string }>).map((c) => c.username)).toEqual(['bobby_in_yaml_under_config']);
    expect((await admin('GET', '/consumers')).body.data.map((c: { username: string }) => c.username)).toEqual(['bobby_in_yaml_under_config']);
  });

  test('a form field and a multipart file (curl -F config=@kong.yml) are accepted', async () => {
    expect((await postConfig(node, new URLSearchParams({ config: consumerOnly('in_form') }))).status).toBe(201);
    const form = new FormData();
    form.append('config', new Blob([consumerOnly('in_multipart')]), 'kong.yml');
    expect((await postConfig(node, form)).status).toBe(201);
    expect((await admin('GET', '/consumers')).body.data[0].username).toBe('in_multipart');
  });

  test('"returns 304 if checking hash and configuration is identical"', async () => {
    const body = JSON.stringify({ config: consumerOnly('bobby_tables') });
    expect((await postConfig(node, body, 'application/json', '?check_hash=1')).status).toBe(201);
    expect((await postConfig(node, body, 'application/json', '?check_hash=1')).status).toBe(304);
    expect((await postConfig(node, body, 'application/json')).status).toBe(201);
  });

  test('"returns 400 when given no input"; invalid input is 400 code 14 and the running configuration stays', async () => {
    const before = (await admin('GET', '/status')).body.configuration_hash;
    expect(await postConfig(node, '')).toEqual({ status: 400, body: { message: 'expected a declarative configuration' } });
    const r = await postConfig(node, JSON.stringify({ config: '_format_version: "1.1"\nservices:\n- port: -12\n' }), 'application/json');
    expect(r.status).toBe(400);
    expect(r.body.fields).toEqual({ services: [{ host: 'required field missing', port: 'value should be between 0 and 65535' }] });
    const flat = await postConfig(node, JSON.stringify({ config: '_format_version: "1.1"\nservices:\n- port: -12\n' }), 'application/json', '?flatten_errors=1');
    expect(flat.body.flattened_errors[0].entity_type).toBe('service');
    expect((await admin('GET', '/status')).body.configuration_hash).toBe(before);
  });

  test('"can load large declarative config (regression test)": spec/fixtures/burst.yml under `config`', async () => {
    const burst = fs.readFileSync(path.join(import.meta.dirname, '..', 'declarative', 'fixtures', 'kong-spec-burst.yml'), 'utf8');
    expect((await postConfig(node, JSON.stringify({ config: burst }), 'application/json')).status).toBe(201);
    expect((await admin('GET', '/services?size=1000')).body.data).toHaveLength(236);
  }, 60_000);

  test('GET /config "returns back the configuration"', async () => {
    const id = 'd885e256-1abe-5e24-80b6-8f68fe59ea8e';
    const r = await postConfig(node, JSON.stringify({ _format_version: '1.1', consumers: [{ username: 'bobo', id, created_at: 1566863706 }] }), 'application/json');
    expect(r.status).toBe(201);
    const config = parse((await admin('GET', '/config')).body.config);
    expect(config).toEqual({
      _format_version: '3.0',
      _transform: false,
      consumers: [{ id, created_at: 1566863706, updated_at: config.consumers[0].updated_at, username: 'bobo', custom_id: null, tags: null }],
    });
  });

  test('no proxied request fails while the whole configuration is replaced, and every worker serves the new one', async () => {
    const withRoutes = (n: number) => ({
      _format_version: '3.0',
      services: [{ name: 'echo', url: `http://127.0.0.1:${fx.echo.port}/`, routes: [{ name: 'stay', paths: ['/stay'] }, ...Array.from({ length: n }, (_, i) => ({ name: `r${i}`, paths: [`/r${i}`] }))] }],
    });
    expect((await postConfig(node, JSON.stringify(withRoutes(0)), 'application/json')).status).toBe(201);
    let stop = false;
    const statuses: number[] = [];
    const load = (async () => {
      while (!stop) statuses.push(await proxiedStatus(node, '/stay', 5000));
    })();
    for (const n of [500, 10, 800, 0]) expect((await postConfig(node, JSON.stringify(withRoutes(n)), 'application/json')).status).toBe(201);
    stop = true;
    await load;
    expect(statuses.length).toBeGreaterThan(0);
    expect(statuses.filter((s) => s !== 200)).toEqual([]);
    // Answered once every worker serves it: each of a few requests (spread over the workers) sees it.
    expect((await postConfig(node, JSON.stringify(withRoutes(3)), 'application/json')).status).toBe(201);
    for (let i = 0; i < 6; i++) expect(await proxiedStatus(node, '/r2')).toBe(200);
  }, 60_000);
});

// spec/02-integration/11-dbless/03-config_persistence_spec.lua
describe('persistence across restarts (03-config_persistence_spec.lua)', () => {
  test('"loads the lmdb config on restarts"; "doesn\'t load the persisted lmdb config if a declarative config is set on restart"', async () => {
    const n = await fx.node('dbless-persist');
    await n.start();
    // kong/status/ready.lua: a DB-less node without configuration is not ready.
    expect(await adminRequest(n, 'GET', '/status/ready')).toEqual({ status: 503, body: { message: 'no configuration available (empty configuration present)' } });
    const conf = { _format_version: '3.0', services: [{ name: 's', url: `http://127.0.0.1:${fx.echo.port}/`, routes: [{ name: 'posted', paths: ['/posted'] }] }] };
    expect((await postConfig(n, JSON.stringify(conf), 'application/json')).status).toBe(201);
    await n.stop();
    await n.start();
    expect(await proxiedStatus(n, '/posted')).toBe(200);
    await n.stop();
    // The same node with a declarative_config: the file, not what was posted before.
    fs.appendFileSync(n.confFile, `declarative_config = ${file}\n`);
    await n.start();
    expect(await proxiedStatus(n, '/posted')).toBe(404);
    expect(await proxiedStatus(n, '/plain')).toBe(200);
    await n.stop();
  }, 120_000);
});

describe('gossamer reload', () => {
  test('reads declarative_config again; a file with problems changes nothing', async () => {
    const f = path.join(fx.tmp, 'reloaded.yml');
    fs.writeFileSync(f, fileText(fx.echo.port));
    const n = await fx.node('dbless-reload', { declarative_config: f, worker_processes: 1 });
    await n.start();
    expect(await proxiedStatus(n, '/added')).toBe(404);
    fs.writeFileSync(f, fileText(fx.echo.port).replace('  - name: plain\n', '  - name: added\n    paths: [/added]\n  - name: plain\n'));
    const r = await runCli(['reload', '-p', n.prefix]);
    expect(r.code, r.stderr).toBe(0);
    await until('the reloaded file served', async () => ((await proxiedStatus(n, '/added')) === 200 ? true : undefined), 30_000);
    const hash = (await adminRequest(n, 'GET', '/status')).body.configuration_hash;
    fs.writeFileSync(f, '_format_version: "3.0"\nservices:\n- port: -1\n');
    expect((await runCli(['reload', '-p', n.prefix])).code).toBe(0);
    await until('the reload logged as refused', async () => (fs.readFileSync(n.logFile, 'utf8').includes('declarative_config has problems') ? true : undefined), 30_000);
    expect((await adminRequest(n, 'GET', '/status')).body.configuration_hash).toBe(hash);
    expect(await proxiedStatus(n, '/added')).toBe(200);
    await n.stop();
  }, 120_000);
});

test('declarative_config_string (Kong\'s KONG_DECLARATIVE_CONFIG_STRING) is loaded at start', async () => {
  const text = JSON.stringify({ _format_version: '3.0', services: [{ name: 's', url: `http://127.0.0.1:${fx.echo.port}/`, routes: [{ name: 'from-string', paths: ['/from-string'] }] }] });
  const n = await fx.node('dbless-string', { declarative_config_string: text, worker_processes: 1 });
  await n.start();
  expect(await proxiedStatus(n, '/from-string')).toBe(200);
  await n.stop();
}, 60_000);
