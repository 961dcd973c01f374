// The cluster port under attack (issue #18, item 5), against a real control plane process with a
// data plane member: strangers without the cluster key, random bytes, a key holder that sends
// garbage after the handshake, oversized, malformed, forged, replayed and wrongly signed gossip,
// and a data plane holding another cluster certificate. Each is refused and counted in
// gossamer_cluster_refused_total{reason}; afterwards the membership and the configuration are
// the same on both nodes and the data plane still proxies.
import crypto from 'node:crypto';
import net from 'node:net';
import path from 'node:path';
import { xsalsa20 } from '@noble/ciphers/salsa';
import { peerIdFromString } from '@libp2p/peer-id';
import { multiaddr } from '@multiformats/multiaddr';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { pskFromSecret } from '../../src/cluster/identity.ts';
import { encode, MEMBERSHIP_TOPIC } from '../../src/cluster/messages.ts';
import type { ClusterLibp2p } from '../../src/cluster/host.ts';
import { freePort } from '../../src/db/embedded.ts';
import { loadClusterIdentity } from '../../src/hybrid/cert.ts';
import type { SimNode } from '../../sim/harness/node-process.ts';
import { startTestHost } from '../support/libp2p-host.ts';
import { admin, hybridFixture, proxied, untilNodes as until, type HybridFixture } from '../support/hybrid.ts';

interface Member {
  id: string;
  name: string;
  peer_id: string;
  address: string;
  addresses: string[];
  role: string;
  version: string;
  config_version: number;
  config_hash: string | null;
  status: string;
  incarnation: number;
}

let fx: HybridFixture;
let cp: SimNode;
let dp: SimNode;
let cpPort = 0;
let psk: Uint8Array;
let before: { members: string; config: string };
const hosts: ClusterLibp2p[] = [];

const members = async (n: SimNode): Promise<Member[]> => (await admin(n, 'GET', '/cluster/members')).body.data;
const membersKey = async (n: SimNode) => (await members(n)).map((m) => `${m.name}/${m.id}/${m.peer_id}/${m.address}/${m.status}/${m.incarnation}/${m.config_hash}`).join(' ');
const configKey = async (n: SimNode) => {
  const routes = (await admin(n, 'GET', '/routes')).body.data as { name: string; paths: string[] }[];
  return `${(await admin(n, 'GET', '/status')).body.configuration_hash} ${routes.map((r) => `${r.name}:${r.paths.join(',')}`).join(' ')}`;
};
const snapshot = async () => ({ members: `${await membersKey(cp)} | ${await membersKey(dp)}`, config: `${await configKey(cp)} | ${await configKey(dp)}` });

async function refused(reason: string): Promise<number> {
  const text = await (await fetch(`${cp.adminUrl}/metrics`, { signal: AbortSignal.timeout(5000) })).text();
  const m = new RegExp(`^gossamer_cluster_refused_total\\{reason="${reason}"\\} (\\d+)`, 'm').exec(text);
  if (!m) throw new Error(`no gossamer_cluster_refused_total{reason="${reason}"} in /metrics`);
  return Number(m[1]);
}

/** Runs `attack`, then waits for the counter of `reason` to rise and checks nothing else moved. */
async function refusedAs(reason: string, attack: () => Promise<void>): Promise<void> {
  const start = await refused(reason);
  await attack();
  await until(`gossamer_cluster_refused_total{reason="${reason}"} to rise above ${start}`, async () => (await refused(reason)) > start, 15_000, [cp]);
  expect(await snapshot()).toEqual(before);
  expect(await proxied(dp, '/r1')).toBe(200);
  expect((await admin(cp, 'GET', '/status')).status).toBe(200);
}

/** The 32 key bytes of a private-network key file (`/key/swarm/psk/1.0.0/`, `/base16/`, hex). */
const pskBytes = (file: Uint8Array) => Buffer.from(new TextDecoder().decode(file).split('\n')[2]!, 'hex');

/** XSalsa20 as a stream: each update continues the key stream where the last one ended. */
function keyStream(key: Uint8Array, nonce: Uint8Array) {
  let done = 0;
  return (data: Uint8Array): Uint8Array => {
    const out = xsalsa20(key, nonce, new Uint8Array([...new Uint8Array(done), ...data])).subarray(done);
    done += data.length;
    return out;
  };
}

/** A TCP connection to the control plane's cluster port whose received bytes collect in `received`. */
async function rawConnection(): Promise<{ socket: net.Socket; received: () => Buffer }> {
  const socket = net.connect(cpPort, '127.0.0.1');
  let got = Buffer.alloc(0);
  socket.on('data', (d) => (got = Buffer.concat([got, d])));
  socket.on('error', () => {});
  await new Promise((r) => socket.once('connect', r));
  return { socket, received: () => got };
}

async function connectedAttacker(): Promise<{ host: ClusterLibp2p; cpPeer: string }> {
  const host = await startTestHost(psk);
  hosts.push(host);
  const cpPeer = (await members(cp)).find((m) => m.name === 'cp')!.peer_id;
  await host.dial(multiaddr(`/ip4/127.0.0.1/tcp/${cpPort}/p2p/${cpPeer}`));
  await until('the control plane subscribed to membership gossip, as the attacker sees it', async () => host.services.pubsub.getSubscribers(MEMBERSHIP_TOPIC).some((p) => p.toString() === cpPeer));
  return { host, cpPeer };
}

beforeAll(async () => {
  fx = await hybridFixture('cluster-hostile', ['certs', 'other-certs']);
  cpPort = await freePort();
  cp = await fx.node('cp', 'control_plane', { controlPlanePort: cpPort, clusterPort: cpPort });
  dp = await fx.node('dp', 'data_plane', { controlPlanePort: cpPort });
  await cp.start();
  await dp.start();
  psk = loadClusterIdentity(path.join(fx.tmp, 'certs', 'cluster.crt'), path.join(fx.tmp, 'certs', 'cluster.key')).psk;
  expect((await admin(cp, 'POST', '/services', { name: 'echo', url: fx.echo.url })).status).toBe(201);
  expect((await admin(cp, 'POST', '/services/echo/routes', { name: 'r1', paths: ['/r1'] })).status).toBe(201);
  await until('the data plane serves /r1', async () => (await proxied(dp, '/r1')) === 200, 30_000, [cp, dp]);
  // Settled: each node announced the configuration it holds (an announcement raises its incarnation).
  const hash = (await admin(cp, 'GET', '/status')).body.configuration_hash as string;
  await until('both nodes see each other alive, announcing the same configuration', async () => {
    const views = await Promise.all([cp, dp].map(members));
    return views.every((v) => v.length === 2 && v.every((m) => m.status === 'alive' && m.config_hash === hash));
  }, 30_000, [cp, dp]);
  before = await snapshot();
}, 120_000);

afterAll(async () => {
  await Promise.all(hosts.map((h) => Promise.resolve(h.stop()).catch(() => {})));
  await fx?.close();
});

test('a healthy pair refuses nothing: every reason is exported, at 0', async () => {
  for (const reason of ['cluster_key', 'handshake', 'signature', 'malformed', 'oversized', 'replay', 'forged', 'not_member']) expect(await refused(reason), reason).toBe(0);
});

test('a libp2p peer with another cluster key cannot connect: refused as cluster_key', async () => {
  await refusedAs('cluster_key', async () => {
    const stranger = await startTestHost(pskFromSecret(crypto.randomBytes(32).toString('hex')));
    hosts.push(stranger);
    await expect(stranger.dial(multiaddr(`/ip4/127.0.0.1/tcp/${cpPort}`))).rejects.toThrow();
  });
});

test('random bytes on the cluster port: refused as cluster_key', async () => {
  await refusedAs('cluster_key', async () => {
    const { socket } = await rawConnection();
    socket.write(crypto.randomBytes(512));
    await until('the control plane closes the connection', async () => socket.readyState === 'closed' || socket.destroyed, 15_000);
    socket.destroy();
  });
});

test('a connection that closes before the private-network handshake: refused as handshake', async () => {
  await refusedAs('handshake', async () => {
    const { socket } = await rawConnection();
    socket.end(crypto.randomBytes(5));
  });
});

test('a key holder completing the private-network handshake and protocol selection, then sending garbage as noise: refused as handshake', async () => {
  await refusedAs('handshake', async () => {
    const { socket, received } = await rawConnection();
    const nonce = crypto.randomBytes(24);
    socket.write(nonce);
    await until('the node sends its nonce', async () => received().length >= 24, 5000);
    const key = pskBytes(psk);
    const enc = keyStream(key, nonce);
    const remoteNonce = received().subarray(0, 24);
    const mss = Buffer.from('\x13/multistream/1.0.0\n\x07/noise\n');
    socket.write(enc(mss));
    // The node agrees on noise: its header and "/noise" come back through the private network.
    await until('the node selects noise', async () => Buffer.from(xsalsa20(key, remoteNonce, received().subarray(24))).includes('/noise\n'), 5000);
    socket.write(enc(Buffer.concat([Buffer.from([0, 32]), crypto.randomBytes(32), Buffer.from([0, 96]), crypto.randomBytes(96)])));
    await until('the control plane closes the connection', async () => socket.destroyed || socket.readyState === 'closed', 15_000);
    socket.destroy();
  });
});

test('gossip from a key holder that is no member: oversized, malformed, forged, replayed and wrongly signed messages change nothing', async () => {
  const { host, cpPeer } = await connectedAttacker();
  const pubsub = host.services.pubsub;
  const dpMember = (await members(cp)).find((m) => m.name === 'dp')!;
  const cpMember = (await members(cp)).find((m) => m.name === 'cp')!;
  // The messages as they went on the wire: gossipsub's message cache holds them for a few heartbeats.
  type RawMsg = { from?: Uint8Array; data?: Uint8Array; seqno?: Uint8Array; signature?: Uint8Array; key?: Uint8Array; topic: string };
  const gs = pubsub as unknown as { mcache: { msgs: Map<string, { message: RawMsg }> }; sendRpc(id: string, rpc: { subscriptions: []; messages: RawMsg[] }): boolean };
  let lastSent: RawMsg | undefined;
  const publish = async (data: Uint8Array) => {
    const r = await pubsub.publish(MEMBERSHIP_TOPIC, data);
    expect(r.recipients.map(String)).toContain(cpPeer);
    lastSent = [...gs.mcache.msgs.values()].map((e) => e.message).find((m) => m.data && Buffer.from(m.data).equals(data));
  };

  await refusedAs('oversized', () => publish(encode({ t: 'alive', m: { ...dpMember, name: 'x'.repeat(100 * 1024) } })));
  // 0xc1 is the one byte msgpack never uses.
  await refusedAs('malformed', () => publish(new Uint8Array([0xc1, 0xc1, 0xc1])));
  // Accusing the data plane in the control plane's name.
  await refusedAs('forged', () => publish(encode({ t: 'failed', id: dpMember.id, inc: dpMember.incarnation, from: cpMember.id })));
  // Speaking for the data plane: a new address and a higher incarnation, signed by the attacker.
  const announcement = encode({ t: 'alive', m: { ...dpMember, address: '203.0.113.9:7946', incarnation: dpMember.incarnation + 5 } });
  let captured: RawMsg | undefined;
  await refusedAs('forged', async () => {
    await publish(announcement);
    captured = lastSent;
  });
  expect(captured, 'the announcement in the attacker\'s message cache').toBeDefined();
  const raw = captured!;

  // The same message sent again verbatim (same signer, sequence number and signature).
  await refusedAs('replay', async () => {
    expect(gs.sendRpc(cpPeer, { subscriptions: [], messages: [raw] })).toBe(true);
  });
  // The announcement claiming to come from the data plane itself, carrying the attacker's signature.
  await refusedAs('signature', async () => {
    const forged: RawMsg = { ...raw, from: peerIdFromString(dpMember.peer_id).toMultihash().bytes, seqno: crypto.randomBytes(8), key: undefined };
    expect(gs.sendRpc(cpPeer, { subscriptions: [], messages: [forged] })).toBe(true);
  });
});

test('a data plane with another cluster certificate: refused as cluster_key, never a member', async () => {
  const stranger = await fx.node('dp-stranger', 'data_plane', { controlPlanePort: cpPort, certDir: 'other-certs' });
  await refusedAs('cluster_key', async () => {
    await stranger.start();
  });
  expect((await members(cp)).map((m) => m.name)).not.toContain('dp-stranger');
  await stranger.kill();
});
