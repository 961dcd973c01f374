// `gossamer start` as a user runs it: a real process on a real database, proxy workers
// forked by node:cluster, Admin API writes served by the proxy, `gossamer stop` draining it.
import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { freePort } from '../../src/db/embedded.ts';
import { runCli, startNodeProcess } from '../support/cli.ts';
import { testDatabase, type TestDatabase } from '../support/pg.ts';
import { until } from '../support/until.ts';

let db: TestDatabase;
let dir: string;
let upstream: http.Server;
let upstreamPort: number;
const children: ChildProcess[] = [];

function conf(name: string, ports: { proxy: number; admin: number; cluster: number }, extra = ''): string {
  const file = path.join(dir, `${name}.conf`);
  fs.writeFileSync(
    file,
    `pg_host = ${db.host}\npg_port = ${db.port}\npg_user = ${db.user}\npg_password = ${db.password}\npg_database = ${db.database}\n` +
      `prefix = ${path.join(dir, name)}\nnode_name = ${name}\nproxy_listen = 127.0.0.1:${ports.proxy}\nadmin_listen = 127.0.0.1:${ports.admin}\n` +
      `cluster_listen = 127.0.0.1:${ports.cluster}\n${extra}`,
  );
  return file;
}

async function ports() {
  return { proxy: await freePort(), admin: await freePort(), cluster: await freePort() };
}

const start = (file: string) => startNodeProcess(file, children);

beforeAll(async () => {
  db = await testDatabase('node');
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gossamer-node-'));
  upstream = http.createServer((req, res) => res.end(JSON.stringify({ path: req.url, pid: process.pid })));
  await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
  upstreamPort = (upstream.address() as net.AddressInfo).port;
});

afterAll(async () => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  upstream?.close();
});

test('start on a database that is not bootstrapped says to run bootstrap, and exits 1', async () => {
  const file = conf('fresh', await ports());
  const node = start(file);
  expect(await node.exited).toBe(1);
  expect(node.output()).toMatch(/run 'gossamer migrations bootstrap'/);
  expect(node.output()).not.toMatch(/\n\s+at /);
});

test('start with Postgres unreachable names host:port and the cause', async () => {
  const file = conf('nopg', await ports(), `pg_port = ${await freePort()}\n`);
  const node = start(file);
  expect(await node.exited).toBe(1);
  expect(node.output()).toMatch(/127\.0\.0\.1:\d+.*(refused)/);
});

test('a node with two proxy workers serves what the Admin API writes, and gossamer stop drains it', async () => {
  const boot = await runCli(['migrations', 'bootstrap', '-c', conf('boot', await ports())]);
  expect(boot.code, boot.stderr).toBe(0);
  const p = await ports();
  const file = conf('n1', p, 'worker_processes = 2\n');
  const node = start(file);
  await until('the Admin API', async () => ((await fetch(`http://127.0.0.1:${p.admin}/status`)).ok ? true : undefined));

  const svc = await fetch(`http://127.0.0.1:${p.admin}/services`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: `name=echo&url=http://127.0.0.1:${upstreamPort}/base`,
  });
  expect(svc.status).toBe(201);
  const route = await fetch(`http://127.0.0.1:${p.admin}/services/echo/routes`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: 'paths[]=/echo',
  });
  expect(route.status).toBe(201);
  // Read-your-write: the node applied its own change before answering.
  const res = await fetch(`http://127.0.0.1:${p.proxy}/echo/x`);
  expect(res.status).toBe(200);
  expect(await res.json()).toMatchObject({ path: '/base/x' });
  expect(res.headers.get('via')).toMatch(/gossamer/);

  const miss = await fetch(`http://127.0.0.1:${p.proxy}/nowhere`);
  expect(miss.status).toBe(404);
  expect(await miss.json()).toMatchObject({ message: 'no Route matched with those values' });

  // Both workers are separate processes serving the one port.
  const workers = fs.readdirSync('/proc').filter((pid) => /^\d+$/.test(pid) && fs.existsSync(`/proc/${pid}/cmdline`) && (() => {
    try {
      return fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(' ')[3] === String(node.child.pid) && fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('worker-main');
    } catch {
      return false;
    }
  })());
  expect(workers).toHaveLength(2);

  const metrics = await (await fetch(`http://127.0.0.1:${p.admin}/metrics`)).text();
  expect(metrics).toMatch(/gossamer_http_requests_total/);
  expect(metrics).toMatch(/gossamer_cluster_members/);

  const stop = await runCli(['stop', '-p', path.join(dir, 'n1')]);
  expect(stop.code, stop.stderr).toBe(0);
  expect(await node.exited).toBe(0);
  for (const pid of workers) expect(fs.existsSync(`/proc/${pid}`)).toBe(false);
  await expect(fetch(`http://127.0.0.1:${p.proxy}/echo`)).rejects.toThrow();
}, 180_000);

test('a proxy port held by another program is named, and the node exits 1', async () => {
  const p = await ports();
  const holder = net.createServer();
  await new Promise<void>((r) => holder.listen(p.proxy, '127.0.0.1', r));
  try {
    const node = start(conf('busy', p));
    expect(await node.exited).toBe(1);
    expect(node.output()).toContain(`proxy_listen 127.0.0.1:${p.proxy}: address already in use`);
  } finally {
    holder.close();
  }
});
