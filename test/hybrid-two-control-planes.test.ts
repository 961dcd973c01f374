// Two control planes on one Postgres, one data plane that lists only the first. Data planes do
// not follow the events topic, so a change made on the second control plane must reach the
// data plane by that control plane's own push (no control plane relays another's changes).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { freePort } from '../src/db/embedded.ts';
import { startEchoServer, type EchoServer } from '../src/up/echo.ts';
import { SimNode } from '../sim/harness/node-process.ts';
import { hybridNodeConfig } from '../sim/harness/hybrid-config.ts';
import { testDatabase, type TestDatabase } from './support/pg.ts';
import { runCli } from './support/cli.ts';

let tmp: string;
let db: TestDatabase;
let echo: EchoServer;
let cp1: SimNode;
let cp2: SimNode;
let dp: SimNode;
const started: SimNode[] = [];
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function node(name: string, role: 'control_plane' | 'data_plane', controlPlanePort: number, clusterPort?: number): Promise<SimNode> {
  const ports = { proxy: await freePort(), admin: await freePort(), cluster: clusterPort ?? (await freePort()) };
  const config = hybridNodeConfig({ name, role, ports, certDir: path.join(tmp, 'certs'), database: db.conf, controlPlanePort });
  const n = new SimNode({ name, dir: path.join(tmp, name), ports, config, onState: () => {} });
  started.push(n);
  return n;
}

async function admin(n: SimNode, method: string, url: string, body?: unknown): Promise<{ status: number; body: any }> {
  const r = await fetch(`${n.adminUrl}${url}`, {
    method,
    headers: body ? { 'content-type': 'application/json' } : {},
    body: body ? JSON.stringify(body) : undefined,
    signal: AbortSignal.timeout(5000),
  });
  const text = await r.text();
  return { status: r.status, body: text ? JSON.parse(text) : null };
}

async function served(n: SimNode, p: string): Promise<boolean> {
  try {
    const r = await fetch(`${n.proxyUrl}${p}`, { signal: AbortSignal.timeout(2000) });
    await r.arrayBuffer();
    return r.status === 200;
  } catch {
    return false;
  }
}

const tail = (n: SimNode) => (fs.existsSync(n.logFile) ? fs.readFileSync(n.logFile, 'utf8') : '').split('\n').slice(-25).join('\n');

async function until(what: string, check: () => Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await sleep(100);
  }
  throw new Error(`timed out waiting for: ${what}\n${[cp1, cp2, dp].map((n) => `--- ${n.name}\n${tail(n)}`).join('\n')}`);
}

const hybrid = async (n: SimNode) => (await admin(n, 'GET', '/status')).body.hybrid;

beforeAll(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'gossamer-hybrid-2cp-'));
  db = await testDatabase('hybrid_two_cps');
  echo = await startEchoServer({ port: await freePort() });
  const dbConf = path.join(tmp, 'db.conf');
  fs.writeFileSync(dbConf, Object.entries(db.conf).map(([k, v]) => `${k} = ${v}`).join('\n') + '\n');
  const boot = await runCli(['migrations', 'bootstrap', '-c', dbConf]);
  expect(boot.code, boot.stderr).toBe(0);
  const cert = await runCli(['cluster', 'gen-cert', '--out', path.join(tmp, 'certs')]);
  expect(cert.code, cert.stderr).toBe(0);
  const cp1Port = await freePort();
  cp1 = await node('cp1', 'control_plane', cp1Port, cp1Port);
  cp2 = await node('cp2', 'control_plane', cp1Port);
  dp = await node('dp', 'data_plane', cp1Port);
  await cp1.start();
  await cp2.start();
  await dp.start();
});

afterAll(async () => {
  await Promise.all(started.map((n) => n.stop(5000).catch(() => {})));
  for (const n of started) n.reap();
  await echo?.close();
  if (tmp && !process.env.GOSSAMER_TEST_KEEP) fs.rmSync(tmp, { recursive: true, force: true });
});

test('a change made on the control plane the data plane did not sync from is pushed to it by that control plane', async () => {
  await until('the data plane synced from cp1', async () => (await hybrid(dp)).source === 'control_plane');
  // Both control planes know the data plane as a live member (cp2 learned it by membership only).
  await until('cp2 sees the data plane alive', async () => {
    const r = await admin(cp2, 'GET', '/cluster/members');
    return r.body.data.some((m: { name: string; status: string }) => m.name === 'dp' && m.status === 'alive');
  });
  const before = await hybrid(dp);
  expect(before.control_plane).toBe('cp1');

  expect((await admin(cp2, 'POST', '/services', { name: 'echo', url: echo.url })).status).toBe(201);
  expect((await admin(cp2, 'POST', '/services/echo/routes', { name: 'via-cp2', paths: ['/via-cp2'] })).status).toBe(201);
  await until('the data plane serves the route made on cp2', () => served(dp, '/via-cp2'));
  // Counted for every pushed event, applied or not: so even if a repair by asking were first,
  // this only passes when cp2 pushed the two events itself.
  await until('the data plane received cp2\'s two events by push', async () => (await hybrid(dp)).stats.pushedEvents >= before.stats.pushedEvents + 2);
  // And cp1 learned them by gossip: its configuration is the data plane's.
  await until('cp1, cp2 and the data plane have one configuration_hash', async () => {
    const h = await Promise.all([cp1, cp2, dp].map(async (n) => (await admin(n, 'GET', '/status')).body.configuration_hash));
    return h[0] === h[1] && h[1] === h[2];
  });
});
