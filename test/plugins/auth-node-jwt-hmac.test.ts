// jwt, hmac-auth, correlation-id, request-termination and bot-detection on a real `gossamer
// start` node with two proxy workers: the new tables come from `migrations bootstrap`, the
// credentials go through the Admin API (form bodies, as Kong's docs post them), the node's
// cache and IPC to both workers, in front of a real upstream.
import { spawn, type ChildProcess } from 'node:child_process';
import { createHmac } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import type net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { freePort } from '../../src/db/embedded.ts';
import { encodeJwt } from '../../src/plugins/jwt/parser.ts';
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
  db = await testDatabase('jwtnode');
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gossamer-jwt-'));
  upstream = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => res.end(JSON.stringify({ headers: req.headers })));
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

test('a node with two workers runs jwt, hmac-auth, correlation-id, request-termination and bot-detection', async () => {
  const p = { proxy: await freePort(), admin: await freePort(), cluster: await freePort() };
  const file = path.join(dir, 'n.conf');
  fs.writeFileSync(
    file,
    `pg_host = ${db.host}\npg_port = ${db.port}\npg_user = ${db.user}\npg_password = ${db.password}\npg_database = ${db.database}\n` +
      `prefix = ${path.join(dir, 'n')}\nnode_name = jwt-node\nproxy_listen = 127.0.0.1:${p.proxy}\nadmin_listen = 127.0.0.1:${p.admin}\n` +
      `cluster_listen = 127.0.0.1:${p.cluster}\nworker_processes = 2\n`,
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
    return r.json() as Promise<Record<string, string>>;
  };
  await post('/services', `name=echo&url=http://127.0.0.1:${upstreamPort}`);
  await post('/services/echo/routes', 'name=jwt&paths[]=/jwt');
  await post('/services/echo/routes', 'name=hmac&paths[]=/hmac');
  await post('/services/echo/routes', 'name=closed&paths[]=/closed');
  await post('/routes/jwt/plugins', 'name=jwt&config.claims_to_verify[]=exp');
  await post('/routes/hmac/plugins', 'name=hmac-auth&config.hide_credentials=true');
  await post('/routes/closed/plugins', 'name=request-termination&config.status_code=410&config.message=gone');
  await post('/plugins', 'name=correlation-id&config.echo_downstream=true&config.generator=uuid');
  await post('/plugins', 'name=bot-detection&config.deny[]=BadAgent');
  await post('/consumers', 'username=alice');
  const secret = await post('/consumers/alice/jwt', 'key=alice-iss');
  await post('/consumers/alice/hmac-auth', 'username=alice-hmac&secret=hmac-secret');

  const token = encodeJwt({ iss: 'alice-iss', exp: Math.floor(Date.now() / 1000) + 60 }, secret.secret!);
  // Several requests: the two workers take turns, and each must know every entity.
  for (let i = 0; i < 6; i++) {
    const ok = await fetch(`${proxy}/jwt`, { headers: { authorization: `Bearer ${token}` } });
    expect(ok.status).toBe(200);
    const echo = (await ok.json()) as { headers: Record<string, string> };
    expect([echo.headers['x-consumer-username'], echo.headers['x-credential-identifier']]).toEqual(['alice', 'alice-iss']);
    expect(ok.headers.get('kong-request-id')).toBe(echo.headers['kong-request-id']);
    expect((await fetch(`${proxy}/jwt`)).status).toBe(401);

    const date = new Date().toUTCString();
    const signature = createHmac('sha1', 'hmac-secret').update(`date: ${date}`).digest('base64');
    const signed = await fetch(`${proxy}/hmac`, { headers: { date, authorization: `hmac username="alice-hmac", algorithm="hmac-sha1", headers="date", signature="${signature}"` } });
    expect(signed.status).toBe(200);
    const hmacEcho = (await signed.json()) as { headers: Record<string, string> };
    expect([hmacEcho.headers['x-credential-identifier'], hmacEcho.headers.authorization]).toEqual(['alice-hmac', undefined]);

    const closed = await fetch(`${proxy}/closed`);
    expect([closed.status, await closed.json()]).toEqual([410, { message: 'gone' }]);
    expect((await fetch(`${proxy}/jwt`, { headers: { 'user-agent': 'BadAgent/1.0', authorization: `Bearer ${token}` } })).status).toBe(403);
  }
  // Read-your-write across workers: a revoked secret stops authenticating on the next request.
  expect((await fetch(`${admin}/jwts/alice-iss`, { method: 'DELETE' })).status).toBe(204);
  for (let i = 0; i < 4; i++) expect((await fetch(`${proxy}/jwt`, { headers: { authorization: `Bearer ${token}` } })).status).toBe(401);

  node.kill('SIGTERM');
  expect(await new Promise((r) => node!.once('exit', r))).toBe(0);
}, 180_000);
