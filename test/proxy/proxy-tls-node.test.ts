// `gossamer start` with Kong's two proxy listeners, one of them `ssl`: the node makes its
// default certificate under the prefix, its worker serves HTTPS, and an https-only route
// created through the Admin API answers 426 on the plain listener.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { freePort } from '../../src/db/embedded.ts';
import { BIN, ROOT, cleanEnv, runCli } from '../support/cli.ts';
import { eventually } from '../support/proxy-fixtures.ts';
import { testDatabase, type TestDatabase } from '../support/pg.ts';

let db: TestDatabase;
let dir: string;
let upstream: http.Server;
let child: ChildProcess | null = null;

beforeAll(async () => {
  db = await testDatabase('tls_node');
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gossamer-tls-node-'));
  upstream = http.createServer((req, res) => res.end(JSON.stringify({ path: req.url, proto: req.headers['x-forwarded-proto'] })));
  await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
});

afterAll(async () => {
  if (child && child.exitCode === null) {
    child.kill('SIGTERM');
    await new Promise((r) => child!.once('exit', r));
  }
  upstream?.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

function httpsGet(port: number, p: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    https
      .get({ host: '127.0.0.1', port, path: p, rejectUnauthorized: false, agent: false }, (res) => {
        let body = '';
        res.on('data', (c) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode!, body }));
      })
      .on('error', reject);
  });
}

test('proxy_listen = plain, ssl: the node serves HTTPS with its default certificate', async () => {
  const [proxy, proxySsl, admin, cluster] = [await freePort(), await freePort(), await freePort(), await freePort()];
  const prefix = path.join(dir, 'n1');
  const file = path.join(dir, 'n1.conf');
  fs.writeFileSync(
    file,
    `pg_host = ${db.host}\npg_port = ${db.port}\npg_user = ${db.user}\npg_password = ${db.password}\npg_database = ${db.database}\n` +
      `prefix = ${prefix}\nnode_name = tls-node\nworker_processes = 1\n` +
      `proxy_listen = 127.0.0.1:${proxy}, 127.0.0.1:${proxySsl} http2 ssl\nadmin_listen = 127.0.0.1:${admin}\ncluster_listen = 127.0.0.1:${cluster}\n`,
  );
  const boot = await runCli(['migrations', 'bootstrap', '-c', file]);
  expect(boot.code, boot.stderr).toBe(0);
  child = spawn(process.execPath, [BIN, 'start', '-c', file], { cwd: ROOT, env: cleanEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  const up = await eventually(async () => (await fetch(`http://127.0.0.1:${admin}/status`).catch(() => null))?.ok === true, 60_000);
  expect(up, out).toBe(true);
  expect(fs.existsSync(path.join(prefix, 'ssl', 'gossamer-default.crt'))).toBe(true);

  const form = { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' } };
  const port = (upstream.address() as net.AddressInfo).port;
  expect((await fetch(`http://127.0.0.1:${admin}/services`, { ...form, body: `name=echo&url=http://127.0.0.1:${port}` })).status).toBe(201);
  expect((await fetch(`http://127.0.0.1:${admin}/services/echo/routes`, { ...form, body: 'paths[]=/secure&protocols[]=https' })).status).toBe(201);

  const r = await httpsGet(proxySsl, '/secure/x');
  expect(r.status).toBe(200);
  expect(JSON.parse(r.body)).toEqual({ path: '/x', proto: 'https' });
  const plain = await fetch(`http://127.0.0.1:${proxy}/secure/x`);
  expect(plain.status).toBe(426);
}, 120_000);
