// `--net netns` with real nodes: two `gossamer start` processes in their own namespaces reach
// Postgres (through their fault proxies) and the upstream in the root namespace, serve traffic
// through the balancer, see each other fail behind a black-hole partition and come back after
// the heal; stopping the cluster leaves no namespace or rule behind. Where namespaces are not
// available the cluster refuses to start, before starting anything, and says why.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, expect, test } from 'vitest';
import { SimCluster } from '../../sim/harness/cluster.ts';
import { leftoverNamespaces, leftoverRootState, netnsUnavailable } from '../../sim/harness/netns.ts';
import { sleep } from '../../sim/harness/node-process.ts';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sim-net-e2e-'));
fs.chmodSync(tmp, 0o777);
let cluster: SimCluster | undefined;
afterAll(async () => {
  await cluster?.stop();
  fs.rmSync(tmp, { recursive: true, force: true });
});

async function post(url: string, body: unknown): Promise<{ id: string }> {
  const r = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const b = (await r.json()) as { id: string };
  if (r.status !== 201) throw new Error(`POST ${url}: ${r.status} ${JSON.stringify(b)}`);
  return b;
}

async function statusOf(c: SimCluster, observer: string, peer: string): Promise<string | undefined> {
  try {
    const r = await fetch(`${c.node(observer).adminUrl}/cluster/members`, { signal: AbortSignal.timeout(2000) });
    const body = (await r.json()) as { data: { name: string; status: string }[] };
    return body.data.find((m) => m.name === peer)?.status;
  } catch {
    return undefined;
  }
}

async function waitStatus(c: SimCluster, observer: string, peer: string, want: string[], ms: number): Promise<string | undefined> {
  const until = Date.now() + ms;
  let last: string | undefined;
  while (Date.now() < until) {
    last = await statusOf(c, observer, peer);
    if (last && want.includes(last)) return last;
    await sleep(100);
  }
  return last;
}

const unavailable = netnsUnavailable();

if (unavailable) {
  test('without root or `ip netns` the netns cluster refuses to start, before starting anything', async () => {
    const started = Date.now();
    await expect(SimCluster.start({ nodes: 2, dir: tmp, net: 'netns' })).rejects.toThrow(unavailable);
    expect(fs.existsSync(path.join(tmp, 'pg')), 'Postgres was started anyway').toBe(false);
    expect(Date.now() - started).toBeLessThan(5000);
  });
} else {
  test('nodes in namespaces serve, detect a black-hole partition, heal, and leave nothing behind', async () => {
    cluster = await SimCluster.start({
      nodes: 2,
      dir: tmp,
      net: 'netns',
      setup: async (first, c) => {
        const svc = await post(`${first.adminUrl}/services`, { name: 'up', host: '127.0.0.1', port: c.upstream.port });
        await post(`${first.adminUrl}/routes`, { name: 'r', paths: ['/netns'], service: { id: svc.id } });
      },
    });
    const c = cluster;
    const net = c.network!;
    expect(c.nodes.map((n) => n.host)).toEqual([net.host('n1'), net.host('n2')]);
    expect(net.host('n1')).toMatch(/^127\.201\.\d+\.1$/);
    expect(await c.waitFormed(30_000)).toBe(true);
    // Through the balancer to a node in its namespace and on to the root's upstream.
    const r = await fetch(`${c.lb.url}/netns/x`);
    expect(r.status).toBe(200);
    expect(((await r.json()) as { path: string }).path).toBe('/x');

    expect(await c.partition([['n1'], ['n2']])).toEqual([]);
    // No refusal to react to: the probes time out, and each side suspects the other.
    expect(await waitStatus(c, 'n1', 'n2', ['suspect', 'failed'], 15_000)).toMatch(/suspect|failed/);
    expect(await waitStatus(c, 'n2', 'n1', ['suspect', 'failed'], 15_000)).toMatch(/suspect|failed/);
    // The cut is the cluster port only: both nodes still serve through the balancer.
    expect((await fetch(`${c.node('n2').proxyUrl}/netns/y`)).status).toBe(200);

    expect(await c.heal()).toEqual([]);
    expect(await c.waitFormed(20_000)).toBe(true);

    const listening = await c.stop();
    cluster = undefined;
    expect(listening).toEqual([]);
    expect(leftoverNamespaces()).toEqual([]);
    expect(leftoverRootState()).toEqual([]);
  }, 120_000);
}
