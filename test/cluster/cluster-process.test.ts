// Membership between real `gossamer start` processes on loopback (the simulator's harness:
// embedded Postgres, 3 nodes, no cluster_peers so they find each other through cluster_nodes
// alone): agreement, kill -9 and restart, SIGSTOP/SIGCONT, graceful stop, the CLI table.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { SimCluster } from '../../sim/harness/cluster.ts';
import type { SimNode } from '../../sim/harness/node-process.ts';
import { runCli } from '../support/cli.ts';

interface M {
  id: string;
  name: string;
  peer_id: string;
  address: string;
  status: string;
  incarnation: number;
  self: boolean;
}

let c: SimCluster;
let dir: string;

async function members(n: SimNode): Promise<M[]> {
  const r = await fetch(`${n.adminUrl}/cluster/members`, { signal: AbortSignal.timeout(3000) });
  return ((await r.json()) as { data: M[] }).data;
}

async function until(what: string, ok: () => Promise<boolean>, ms = 60_000): Promise<void> {
  const end = Date.now() + ms;
  for (;;) {
    try {
      if (await ok()) return;
    } catch {
      /* a node restarting */
    }
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const statusOn = async (observer: SimNode, name: string) => (await members(observer)).find((m) => m.name === name);

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gossamer-cluster-proc-'));
  c = await SimCluster.start({ nodes: 3, dir, config: { cluster_peers: '' } });
  if (!(await c.waitFormed(60_000))) throw new Error('the cluster did not form through cluster_nodes');
}, 180_000);

afterAll(async () => {
  await c?.stop();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

test('3 nodes joined through the database alone agree on /cluster/members', { timeout: 120_000 }, async () => {
  const views = await Promise.all(c.nodes.map(members));
  const key = (v: M[]) => v.map((m) => `${m.name}/${m.id}/${m.peer_id}/${m.address}/${m.status}`).join(' ');
  expect(views[0]!.map((m) => m.name)).toEqual(['n1', 'n2', 'n3']);
  expect(key(views[1]!)).toBe(key(views[0]!));
  expect(key(views[2]!)).toBe(key(views[0]!));
  views.forEach((v, i) => expect(v.filter((m) => m.self).map((m) => m.name)).toEqual([c.nodes[i]!.name]));
  const one = await fetch(`${c.nodes[0]!.adminUrl}/cluster/members/n2`);
  expect(((await one.json()) as M).name).toBe('n2');
  const metrics = await (await fetch(`${c.nodes[0]!.adminUrl}/metrics`)).text();
  expect(metrics).toMatch(/gossamer_cluster_members\{status="alive"\} 3/);
  const cli = await runCli(['cluster', 'members', '--admin', c.nodes[1]!.adminUrl]);
  expect(cli.code).toBe(0);
  expect(cli.stdout).toMatch(/^NAME\s+ADDRESS\s+ROLE\s+STATUS\s+CONFIG_VERSION\s+CONFIG_HASH\s+LAST_SEEN/m);
  expect(cli.stdout).toMatch(/^n2 \*\s+127\.0\.0\.1:\d+\s+traditional\s+alive/m);
  expect(cli.stdout).toContain('3 members: 3 alive');
});

test('kill -9: failed on every survivor; restarted: alive again with a higher incarnation', { timeout: 120_000 }, async () => {
  const [n1, n2, n3] = c.nodes as [SimNode, SimNode, SimNode];
  const before = (await statusOn(n1, 'n3'))!.incarnation;
  await n3.kill();
  await until('n3 failed on n1 and n2', async () => (await statusOn(n1, 'n3'))?.status === 'failed' && (await statusOn(n2, 'n3'))?.status === 'failed');
  const del = await fetch(`${n1.adminUrl}/cluster/members/n1`, { method: 'DELETE' });
  expect(del.status).toBe(409);
  await c.startNode('n3');
  await until('n3 alive on n1 and n2', async () => (await statusOn(n1, 'n3'))?.status === 'alive' && (await statusOn(n2, 'n3'))?.status === 'alive');
  expect((await statusOn(n1, 'n3'))!.incarnation).toBeGreaterThan(before);
  await until('n3 sees everyone alive', async () => (await members(n3)).filter((m) => m.status === 'alive').length === 3);
});

test('SIGSTOP: failed on the others; SIGCONT: it refutes and is alive again', { timeout: 120_000 }, async () => {
  const [n1, n2, n3] = c.nodes as [SimNode, SimNode, SimNode];
  n2.pause();
  try {
    await until('n2 failed on n1 and n3', async () => (await statusOn(n1, 'n2'))?.status === 'failed' && (await statusOn(n3, 'n2'))?.status === 'failed');
  } finally {
    n2.resume();
  }
  await until('n2 alive again on n1 and n3', async () => (await statusOn(n1, 'n2'))?.status === 'alive' && (await statusOn(n3, 'n2'))?.status === 'alive');
});

test('graceful stop (SIGTERM) shows left', { timeout: 120_000 }, async () => {
  const [n1, n2, n3] = c.nodes as [SimNode, SimNode, SimNode];
  await n3.stop();
  await until('n3 left on n1 and n2', async () => (await statusOn(n1, 'n3'))?.status === 'left' && (await statusOn(n2, 'n3'))?.status === 'left');
});
