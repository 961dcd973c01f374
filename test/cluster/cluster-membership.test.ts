// Membership over real libp2p (TCP on 127.0.0.1, pnet, noise, yamux, gossipsub) between
// in-process nodes that find each other through a real Postgres cluster_nodes table alone.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import pino from 'pino';
import type pg from 'pg';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { testDatabase } from '../support/pg.ts';
import { createPool } from '../../src/db/pool.ts';
import { bootstrap, clusterSecret } from '../../src/db/migrate.ts';
import { freePort } from '../../src/db/embedded.ts';
import { createClusterNodesStore } from '../../src/db/cluster-nodes.ts';
import { loadOrCreateNodeId, pskFromSecret, startCluster, type Cluster, type MemberView } from '../../src/cluster/index.ts';
import { deleteMember, getMember, listMembers } from '../../src/admin/cluster-members.ts';

let pool: pg.Pool;
let psk: Uint8Array;
const running = new Set<Cluster>();
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'gossamer-cluster-'));

interface Node {
  cluster: Cluster;
  name: string;
  prefix: string;
  port: number;
  logs: string[];
}

async function startNode(name: string, opts: { prefix?: string; port?: number; psk?: Uint8Array; peers?: string[]; db?: boolean } = {}): Promise<Node> {
  const prefix = opts.prefix ?? path.join(tmp, name);
  const port = opts.port ?? (await freePort());
  const logs: string[] = [];
  const sink = new Writable({
    write(chunk, _enc, cb) {
      logs.push(String(chunk));
      cb();
    },
  });
  const cluster = await startCluster({
    nodeId: loadOrCreateNodeId(prefix),
    nodeName: name,
    role: 'traditional',
    version: '0.1.0',
    prefix,
    listen: [{ host: '127.0.0.1', port }],
    advertise: null,
    peers: opts.peers ?? [],
    psk: opts.psk ?? psk,
    store: opts.db === false ? undefined : createClusterNodesStore(pool),
    settings: { register_interval_ms: 500, retry_interval_ms: 200, retry_max_interval_ms: 1000, leave_timeout_ms: 300 },
    logger: pino({ level: 'debug' }, sink),
  });
  running.add(cluster);
  return { cluster, name, prefix, port, logs };
}

async function until(what: string, ok: () => boolean, ms = 40_000): Promise<void> {
  const end = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > end) throw new Error(`timed out waiting for: ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const statusOf = (n: Node, name: string) => n.cluster.member(name)?.status;

beforeAll(async () => {
  const db = await testDatabase('cluster');
  pool = createPool(db.conf);
  await bootstrap(pool);
  psk = pskFromSecret(await clusterSecret(pool));
});

afterAll(async () => {
  await Promise.all([...running].map((c) => c.stop({ leave: false }).catch(() => {})));
  await pool?.end();
  fs.rmSync(tmp, { recursive: true, force: true });
});

let a: Node, b: Node, c: Node;

test('three nodes join through the database alone and agree on the members', { timeout: 120_000 }, async () => {
  a = await startNode('a');
  b = await startNode('b');
  c = await startNode('c');
  const all = [a, b, c];
  await until('every node sees 3 alive members', () => all.every((n) => n.cluster.members().filter((m) => m.status === 'alive').length === 3));
  const views = all.map((n) => n.cluster.members());
  for (const v of views) {
    expect(v.map((m) => m.name)).toEqual(['a', 'b', 'c']);
    expect(v.filter((m) => m.self)).toHaveLength(1);
  }
  const ids = (v: MemberView[]) => v.map((m) => `${m.id}/${m.peer_id}/${m.address}`);
  expect(ids(views[1]!)).toEqual(ids(views[0]!));
  expect(ids(views[2]!)).toEqual(ids(views[0]!));
  const m = a.cluster.member('b')!;
  expect(Object.keys(m).sort()).toEqual(['address', 'addresses', 'config_hash', 'config_version', 'id', 'incarnation', 'last_seen', 'name', 'peer_id', 'role', 'self', 'status', 'version'].sort());
  expect(m.address).toBe(`127.0.0.1:${b.port}`);
  expect(m.addresses[0]).toBe(`/ip4/127.0.0.1/tcp/${b.port}/p2p/${m.peer_id}`);
  const { rows } = await pool.query('SELECT name, peer_id FROM cluster_nodes ORDER BY name');
  expect(rows.map((r) => r.name)).toEqual(['a', 'b', 'c']);

  const list = listMembers({ cluster: () => a.cluster });
  expect(list.status).toBe(200);
  expect((list.body as { total: number }).total).toBe(3);
  expect(getMember({ cluster: () => a.cluster }, { id: m.id }).body).toMatchObject({ name: 'b', self: false });
  expect(getMember({ cluster: () => a.cluster }, { id: 'nope' })).toEqual({ status: 404, body: { message: 'Not found' } });
  expect(deleteMember({ cluster: () => a.cluster }, { id: 'b' }).status).toBe(409);
});

test('gossip between members, and a higher config_version announced by a member', { timeout: 120_000 }, async () => {
  const got: string[] = [];
  b.cluster.subscribe('test/topic', (data, from) => got.push(`${from.name}:${new TextDecoder().decode(data)}`));
  c.cluster.subscribe('test/topic', () => {});
  const updates: number[] = [];
  b.cluster.on('member-updated', (m) => {
    if (m.name === 'c') updates.push(m.config_version);
  });
  const subscribers = () => a.cluster.libp2p.services.pubsub.getSubscribers('test/topic').map(String);
  await until('b and c are subscribed as seen by a', () => subscribers().includes(b.cluster.peerId) && subscribers().includes(c.cluster.peerId), 30_000);
  // Gossip is best-effort (a connection the monitor drops on an overloaded machine loses a
  // message; the events layer repairs from Postgres): publish until one arrives.
  const tick = setInterval(() => void a.cluster.publish('test/topic', new TextEncoder().encode('hello')).catch(() => {}), 1000);
  await a.cluster.publish('test/topic', new TextEncoder().encode('hello'));
  await until('b got the message', () => got.length >= 1, 30_000).finally(() => clearInterval(tick));
  expect(got[0]).toBe('a:hello');
  c.cluster.setLocalState({ config_version: 42, config_hash: 'abc' });
  await until('a sees c at version 42', () => a.cluster.member('c')?.config_version === 42);
  expect(a.cluster.member('c')?.config_hash).toBe('abc');
  await until('b emitted member-updated', () => updates.includes(42));
});

test('a graceful stop shows left and removes its cluster_nodes row', { timeout: 120_000 }, async () => {
  await c.cluster.stop();
  running.delete(c.cluster);
  await until('c left on a and b', () => statusOf(a, 'c') === 'left' && statusOf(b, 'c') === 'left');
  const { rows } = await pool.query('SELECT name FROM cluster_nodes ORDER BY name');
  expect(rows.map((r) => r.name)).toEqual(['a', 'b']);
});

let d: Node;

test('a member that vanishes without leaving is failed on the others, and rejoins with a higher incarnation', { timeout: 120_000 }, async () => {
  d = await startNode('d');
  await until('d alive on a and b', () => statusOf(a, 'd') === 'alive' && statusOf(b, 'd') === 'alive');
  const before = a.cluster.member('d')!.incarnation;
  await d.cluster.stop({ leave: false });
  running.delete(d.cluster);
  await until('d failed on a and b', () => statusOf(a, 'd') === 'failed' && statusOf(b, 'd') === 'failed').catch((err) => {
    console.log(a.logs.slice(-40).join(''));
    throw err;
  });
  if (process.env.CLUSTER_TEST_LOGS) fs.writeFileSync(process.env.CLUSTER_TEST_LOGS, a.logs.join(''));
  expect(d.cluster.member('a')).toBeDefined();

  // The same prefix keeps the node id and peer id; the returning node must outbid the failure.
  const d2 = await startNode('d', { prefix: d.prefix, port: d.port });
  expect(d2.cluster.nodeId).toBe(d.cluster.nodeId);
  expect(d2.cluster.peerId).toBe(d.cluster.peerId);
  await until('d alive again on a and b', () => statusOf(a, 'd') === 'alive' && statusOf(b, 'd') === 'alive');
  expect(a.cluster.member('d')!.incarnation).toBeGreaterThan(before);
  expect(b.cluster.member('d')!.incarnation).toBe(a.cluster.member('d')!.incarnation);
  await d2.cluster.stop({ leave: false });
  running.delete(d2.cluster);
  await until('d failed again on a', () => statusOf(a, 'd') === 'failed');
  // DELETE /cluster/members/{id} forces a failed member out, on every node.
  expect(deleteMember({ cluster: () => a.cluster }, { id: 'd' })).toEqual({ status: 204 });
  expect(a.cluster.member('d')).toBeUndefined();
  await until('b forgot d too', () => b.cluster.member('d') === undefined, 30_000);
  expect(deleteMember({ cluster: () => a.cluster }, { id: 'd' })).toEqual({ status: 404, body: { message: 'Not found' } });

  // Its cluster_nodes row goes too, and a row not refreshed since is never dialled again.
  const rowsOfD = async () => (await pool.query("SELECT 1 FROM cluster_nodes WHERE name = 'd'")).rowCount;
  for (let i = 0; i < 100 && (await rowsOfD()); i++) await new Promise((r) => setTimeout(r, 50));
  expect(await rowsOfD()).toBe(0);
  await pool.query(
    `INSERT INTO cluster_nodes (id, name, peer_id, addresses, role, version, config_version, started_at, last_seen)
     VALUES ($1, 'd', $2, $3, 'traditional', '0.1.0', 0, now(), now() - interval '2 seconds')`,
    [d.cluster.nodeId, d.cluster.peerId, [`/ip4/127.0.0.1/tcp/${d.port}/p2p/${d.cluster.peerId}`]],
  );
  const mark = a.logs.length;
  await new Promise((r) => setTimeout(r, 2000)); // four register rounds of a and b
  expect(a.logs.slice(mark).filter((l) => l.includes('cannot reach peer d ('))).toEqual([]);
  expect(a.cluster.member('d')).toBeUndefined();
  await pool.query("DELETE FROM cluster_nodes WHERE name = 'd'");

  // Until it is alive again: the restarted node registers and joins as a member like any other.
  const d3 = await startNode('d', { prefix: d.prefix, port: d.port });
  await until('d alive once more on a and b', () => statusOf(a, 'd') === 'alive' && statusOf(b, 'd') === 'alive');
  await d3.cluster.stop();
  running.delete(d3.cluster);
});

test('a node with another cluster key is refused and says why', { timeout: 120_000 }, async () => {
  const other = pskFromSecret('ab'.repeat(32));
  const e = await startNode('e', { psk: other, db: false, peers: [`127.0.0.1:${a.port}`] });
  await until('e logged the key mismatch', () => e.logs.some((l) => l.includes('peer does not share the cluster key')), 30_000);
  expect(a.cluster.member('e')).toBeUndefined();
  expect(e.cluster.members().map((m) => m.name)).toEqual(['e']);
  await e.cluster.stop({ leave: false });
  running.delete(e.cluster);
});

test('the partition switch refuses a blocked peer', { timeout: 120_000 }, async () => {
  const bPeer = b.cluster.peerId;
  expect(await a.cluster.setBlocked([`127.0.0.1:${b.port}`])).toEqual([`127.0.0.1:${b.port}`]);
  await expect(a.cluster.libp2p.services.ping.ping(b.cluster.libp2p.peerId, { signal: AbortSignal.timeout(2000) })).rejects.toThrow();
  expect(a.cluster.libp2p.getConnections(b.cluster.libp2p.peerId)).toHaveLength(0);
  await a.cluster.setBlocked([]);
  const rtt = await a.cluster.libp2p.services.ping.ping(b.cluster.libp2p.peerId, { signal: AbortSignal.timeout(2000) });
  expect(rtt).toBeGreaterThanOrEqual(0);
  expect(bPeer).toMatch(/^12D3Koo/);
});
