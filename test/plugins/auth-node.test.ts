// basic-auth, acl and key_in_body on a real `gossamer start` node with two proxy workers: the
// new entities go through migration, the Admin API, the node's cache and IPC to the workers,
// and the nginx body sizes from the file reach the workers.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import type net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { freePort } from '../../src/db/embedded.ts';
import { BIN, ROOT, cleanEnv, runCli } from '../support/cli.ts';
import { testDatabase, type TestDatabase } from '../support/pg.ts';
import { until } from '../support/until.ts';

let db: TestDatabase;
let dir: string;
let upstream: http.Server;
let upstreamPort: number;
let node: ChildProcess | null = null;
let output = '';

beforeAll(async () => {
  db = await testDatabase('authnode');
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gossamer-auth-'));
  upstream = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => res.end(JSON.stringify({ headers: req.headers, body })));
  });
  await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
  upstreamPort = (upstream.address() as net.AddressInfo).port;
});

afterAll(async () => {
  if (node && node.exitCode === null) {
    node.kill('SIGTERM');
    await new Promise((r) => node!.once('exit', r));
  }
  upstream?.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

test('a node with two workers authenticates with basic-auth, filters with acl and reads keys from bodies', async () => {
  const p = { proxy: await freePort(), admin: await freePort(), cluster: await freePort() };
  const file = path.join(dir, 'n.conf');
  fs.writeFileSync(
    file,
    `pg_host = ${db.host}\npg_port = ${db.port}\npg_user = ${db.user}\npg_password = ${db.password}\npg_database = ${db.database}\n` +
      `prefix = ${path.join(dir, 'n')}\nnode_name = auth-node\nproxy_listen = 127.0.0.1:${p.proxy}\nadmin_listen = 127.0.0.1:${p.admin}\n` +
      `cluster_listen = 127.0.0.1:${p.cluster}\nworker_processes = 2\n` +
      // The body settings reach the workers (their defaults are tested in-process).
      `nginx_http_client_body_buffer_size = 64\nnginx_http_client_max_body_size = 4k\n`,
  );
  const boot = await runCli(['migrations', 'bootstrap', '-c', file]);
  expect(boot.code, boot.stderr).toBe(0);
  node = spawn(process.execPath, [BIN, 'start', '-c', file], { cwd: ROOT, env: cleanEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
  node.stdout!.on('data', (d) => (output += d));
  node.stderr!.on('data', (d) => (output += d));
  const admin = `http://127.0.0.1:${p.admin}`;
  const proxy = `http://127.0.0.1:${p.proxy}`;
  await until('the Admin API', async () => ((await fetch(`${admin}/status`)).ok ? true : undefined), 60_000, () => output);

  const post = async (url: string, body: string) => {
    const r = await fetch(`${admin}${url}`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body });
    expect(r.status, `${url} ${body}: ${await r.clone().text()}`).toBe(201);
    return r.json();
  };
  await post('/services', `name=echo&url=http://127.0.0.1:${upstreamPort}`);
  await post('/services/echo/routes', 'name=basic&paths[]=/basic');
  await post('/services/echo/routes', 'name=body&paths[]=/body');
  await post('/routes/basic/plugins', 'name=basic-auth');
  await post('/routes/basic/plugins', 'name=acl&config.allow[]=admins');
  await post('/routes/body/plugins', 'name=key-auth&config.key_in_body=true&config.hide_credentials=true');
  await post('/consumers', 'username=alice');
  await post('/consumers', 'username=bob');
  await post('/consumers/alice/basic-auth', 'username=alice&password=open-sesame');
  await post('/consumers/bob/basic-auth', 'username=bob&password=pw');
  await post('/consumers/alice/acls', 'group=admins');
  await post('/consumers/alice/key-auth', 'key=alice-key');

  const auth = (u: string, pw: string) => ({ authorization: `Basic ${Buffer.from(`${u}:${pw}`).toString('base64')}` });
  // Several requests: the two workers take turns, and each must know every entity.
  for (let i = 0; i < 6; i++) {
    const ok = await fetch(`${proxy}/basic`, { headers: auth('alice', 'open-sesame') });
    expect(ok.status).toBe(200);
    const echo = (await ok.json()) as { headers: Record<string, string> };
    expect(echo.headers['x-consumer-username']).toBe('alice');
    expect(echo.headers['x-consumer-groups']).toBe('admins');
    expect((await fetch(`${proxy}/basic`, { headers: auth('bob', 'pw') })).status).toBe(403);
    expect((await fetch(`${proxy}/basic`, { headers: auth('alice', 'nope') })).status).toBe(401);
    const body = await fetch(`${proxy}/body`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'apikey=alice-key&q=1' });
    expect(body.status).toBe(200);
    expect(((await body.json()) as { body: string }).body).toBe('q=1');
  }
  // Over the 64-byte buffer, key_in_body does not see the key; over 4k, Kong's 413.
  for (let i = 0; i < 2; i++) {
    const big = await fetch(`${proxy}/body`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: `apikey=alice-key&q=${'1'.repeat(100)}` });
    expect(big.status).toBe(401);
    const huge = await fetch(`${proxy}/body`, { method: 'POST', body: 'x'.repeat(5000) });
    expect(huge.status).toBe(413);
    expect(((await huge.json()) as { message: string }).message).toBe('Payload too large');
  }
  // Read-your-write across workers: a new group is honoured on the next request.
  await post('/consumers/bob/acls', 'group=admins');
  for (let i = 0; i < 4; i++) expect((await fetch(`${proxy}/basic`, { headers: auth('bob', 'pw') })).status).toBe(200);

  node.kill('SIGTERM');
  expect(await new Promise((r) => node!.once('exit', r))).toBe(0);
}, 180_000);
