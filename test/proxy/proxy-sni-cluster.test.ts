// Two `gossamer start` nodes on one database, each with an `ssl` proxy listener: a certificate
// created, replaced and deleted through the Admin API of one node is presented by the other
// node's proxy worker for new handshakes (gossip, then IPC to the worker), with no restart.
// Both nodes log at debug level: no private key reaches their logs, GET / or /metrics.
import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { freePort } from '../../src/db/embedded.ts';
import { runCli, startNodeProcess } from '../support/cli.ts';
import { eventually } from '../support/proxy-fixtures.ts';
import { testDatabase, type TestDatabase } from '../support/pg.ts';
import { selfSigned } from '../support/tls-fixtures.ts';

let db: TestDatabase;
let dir: string;
const children: ChildProcess[] = [];

interface NodePorts {
  proxy: number;
  ssl: number;
  admin: number;
  cluster: number;
}

beforeAll(async () => {
  db = await testDatabase('sni_cluster');
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gossamer-sni-cluster-'));
});

afterAll(async () => {
  await Promise.all(
    children.filter((c) => c.exitCode === null).map((c) => new Promise((r) => (c.once('exit', r), c.kill('SIGTERM')))),
  );
  fs.rmSync(dir, { recursive: true, force: true });
});

function presentedCn(port: number, servername: string): Promise<string | null> {
  return new Promise((resolve) => {
    const sock = tls.connect({ host: '127.0.0.1', port, servername, rejectUnauthorized: false }, () => {
      const cn = sock.getPeerCertificate().subject?.CN;
      sock.end();
      resolve(typeof cn === 'string' ? cn : null);
    });
    sock.on('error', () => resolve(null));
  });
}

async function ports(): Promise<NodePorts> {
  return { proxy: await freePort(), ssl: await freePort(), admin: await freePort(), cluster: await freePort() };
}

function writeConf(name: string, p: NodePorts, peer: NodePorts): string {
  const file = path.join(dir, `${name}.conf`);
  fs.writeFileSync(
    file,
    `pg_host = ${db.host}\npg_port = ${db.port}\npg_user = ${db.user}\npg_password = ${db.password}\npg_database = ${db.database}\n` +
      `prefix = ${path.join(dir, name)}\nnode_name = ${name}\nworker_processes = 1\nlog_level = debug\n` +
      `proxy_listen = 127.0.0.1:${p.proxy}, 127.0.0.1:${p.ssl} ssl\nadmin_listen = 127.0.0.1:${p.admin}\n` +
      `cluster_listen = 127.0.0.1:${p.cluster}\ncluster_peers = 127.0.0.1:${peer.cluster}\n`,
  );
  return file;
}

test('a certificate written on one node is presented by the other node, replaced and deleted without restart', async () => {
  const [a, b] = [await ports(), await ports()];
  const fa = writeConf('sni-a', a, b);
  const fb = writeConf('sni-b', b, a);
  const boot = await runCli(['migrations', 'bootstrap', '-c', fa]);
  expect(boot.code, boot.stderr).toBe(0);
  const na = startNodeProcess(fa, children);
  const nb = startNodeProcess(fb, children);
  for (const [n, p] of [[na, a], [nb, b]] as const) {
    const up = await eventually(async () => (await fetch(`http://127.0.0.1:${p.admin}/status`).catch(() => null))?.ok === true, 60_000);
    expect(up, n.output()).toBe(true);
  }
  const name = 'shop.example.com';
  expect(await presentedCn(b.ssl, name)).toBe('localhost');

  const first = selfSigned('rotation-one.test');
  const json = { method: 'POST', headers: { 'content-type': 'application/json' } };
  const created = await fetch(`http://127.0.0.1:${a.admin}/certificates`, { ...json, body: JSON.stringify({ ...first, snis: [name] }) });
  expect(created.status).toBe(201);
  const id = ((await created.json()) as { id: string }).id;
  expect(await eventually(async () => (await presentedCn(b.ssl, name)) === 'rotation-one.test', 30_000), nb.output()).toBe(true);

  const second = selfSigned('rotation-two.test');
  const patched = await fetch(`http://127.0.0.1:${a.admin}/certificates/${name}`, { ...json, method: 'PATCH', body: JSON.stringify(second) });
  expect(patched.status).toBe(200);
  expect(await eventually(async () => (await presentedCn(b.ssl, name)) === 'rotation-two.test', 30_000)).toBe(true);

  expect((await fetch(`http://127.0.0.1:${a.admin}/certificates/${id}`, { method: 'DELETE' })).status).toBe(204);
  expect(await eventually(async () => (await presentedCn(b.ssl, name)) === 'localhost', 30_000)).toBe(true);

  // Private keys were written, gossiped and applied at debug level: none appears anywhere a
  // client or an operator reads.
  const keyLine = (pem: string) => pem.split('\n')[1]!;
  for (const p of [a, b]) {
    const surfaces = [await (await fetch(`http://127.0.0.1:${p.admin}/`)).text(), await (await fetch(`http://127.0.0.1:${p.admin}/metrics`)).text()];
    for (const text of surfaces) expect(text).not.toContain('PRIVATE KEY');
  }
  for (const out of [na.output(), nb.output()]) {
    expect(out).not.toContain('PRIVATE KEY');
    expect(out).not.toContain(keyLine(first.key));
    expect(out).not.toContain(keyLine(second.key));
  }
}, 150_000);
