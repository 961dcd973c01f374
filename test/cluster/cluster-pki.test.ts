// cluster_mtls = pki on the cluster's libp2p stack: mutual TLS in place of the private-network
// key. Hosts whose certificates a CA signed connect and talk; a host with a certificate from
// another CA is refused during the handshake and counted as gossamer_cluster_refused_total
// {reason="certificate"}; a dialler checks the server name it is given (Kong's
// cluster_server_name) against the certificate it is shown.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { generateKeyPair } from '@libp2p/crypto/keys';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { ClusterTls } from '../../src/cluster/index.ts';
import { createHost, hostPortToMultiaddr, type ClusterLibp2p } from '../../src/cluster/host.ts';
import { pskFromSecret } from '../../src/cluster/identity.ts';
import { refusedTotal } from '../../src/cluster/metrics.ts';
import { Blocklist } from '../../src/cluster/partition.ts';
import { freePort } from '../../src/db/embedded.ts';
import { clusterCa, type ClusterCa } from '../support/cluster-pki.ts';

let tmp: string;
let ca: ClusterCa;
let other: ClusterCa;
const hosts: ClusterLibp2p[] = [];
const refusals: string[] = [];

function material(dir: string, caPem: string, serverName: string | null = null): ClusterTls {
  return {
    cert: fs.readFileSync(path.join(dir, 'cluster.crt'), 'utf8'),
    key: fs.readFileSync(path.join(dir, 'cluster.key'), 'utf8'),
    ca: caPem,
    serverNameFor: () => serverName,
    onRefused: (remote, inbound, why) => refusals.push(`${inbound ? 'in' : 'out'} ${remote}: ${why}`),
  };
}

async function host(t: ClusterTls): Promise<{ libp2p: ClusterLibp2p; port: number }> {
  const port = await freePort();
  const { libp2p } = await createHost({
    privateKey: await generateKeyPair('Ed25519'),
    listen: [{ host: '127.0.0.1', port }],
    advertise: { host: '127.0.0.1', port },
    // A different private-network key on every host: with tls set, it must not be used.
    psk: pskFromSecret(randomBytes(32).toString('hex')),
    tls: t,
    blocklist: new Blocklist(),
    dialTimeoutMs: 3000,
    gossipHeartbeatMs: 200,
  });
  hosts.push(libp2p);
  return { libp2p, port };
}

async function certificateRefusals(): Promise<number> {
  const v = (await refusedTotal.get()).values.find((x) => x.labels.reason === 'certificate');
  return v?.value ?? 0;
}

const ping = (from: ClusterLibp2p, port: number) => (from.services as { ping: { ping(ma: unknown): Promise<number> } }).ping.ping(hostPortToMultiaddr({ host: '127.0.0.1', port }));

beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'gossamer-cluster-pki-'));
  ca = clusterCa(path.join(tmp, 'ca'), 'cluster-ca');
  other = clusterCa(path.join(tmp, 'other'), 'other-ca');
  ca.issue(path.join(tmp, 'cp'), 'cp.cluster.test');
  ca.issue(path.join(tmp, 'dp'), 'dp.cluster.test');
  other.issue(path.join(tmp, 'stranger'), 'dp.cluster.test');
});

afterAll(async () => {
  for (const h of hosts) await h.stop();
  fs.rmSync(tmp, { recursive: true, force: true });
});

describe('cluster_mtls = pki', () => {
  test('two hosts whose certificates the CA signed connect, whatever their private-network keys', async () => {
    const cp = await host(material(path.join(tmp, 'cp'), ca.caPem));
    const dp = await host(material(path.join(tmp, 'dp'), ca.caPem, 'cp.cluster.test'));
    expect(await ping(dp.libp2p, cp.port)).toBeGreaterThanOrEqual(0);
    expect(dp.libp2p.getConnections(cp.libp2p.peerId)).toHaveLength(1);
  });

  test('a certificate from another CA is refused, counted as certificate, and logged on both sides', async () => {
    const cp = await host(material(path.join(tmp, 'cp'), ca.caPem));
    const stranger = await host(material(path.join(tmp, 'stranger'), other.caPem, 'cp.cluster.test'));
    const before = await certificateRefusals();
    refusals.length = 0;
    await expect(ping(stranger.libp2p, cp.port)).rejects.toThrow();
    expect(cp.libp2p.getConnections(stranger.libp2p.peerId)).toHaveLength(0);
    // The stranger refuses the control plane's chain (another CA) and the control plane the
    // stranger's: each side counts its own refusal.
    expect(await certificateRefusals()).toBeGreaterThanOrEqual(before + 1);
    expect(refusals.join('\n')).toMatch(/certificate/i);
  });

  test("a stranger that trusts the cluster's CA but holds a certificate of another CA is refused by the listener", async () => {
    const cp = await host(material(path.join(tmp, 'cp'), ca.caPem));
    // It trusts our CA, so only the listener's check of its client certificate can stop it.
    const stranger = await host({ ...material(path.join(tmp, 'stranger'), ca.caPem, 'cp.cluster.test') });
    refusals.length = 0;
    const before = await certificateRefusals();
    await expect(ping(stranger.libp2p, cp.port)).rejects.toThrow();
    await expect.poll(() => refusals.some((r) => r.startsWith('in '))).toBe(true);
    expect(await certificateRefusals()).toBeGreaterThan(before);
    expect(cp.libp2p.getConnections(stranger.libp2p.peerId)).toHaveLength(0);
  });

  test('the dialler checks the server name: the right one connects, another is refused', async () => {
    const cp = await host(material(path.join(tmp, 'cp'), ca.caPem));
    const wrong = await host(material(path.join(tmp, 'dp'), ca.caPem, 'elsewhere.cluster.test'));
    refusals.length = 0;
    await expect(ping(wrong.libp2p, cp.port)).rejects.toThrow();
    expect(refusals.find((r) => r.startsWith('out '))).toMatch(/elsewhere\.cluster\.test/);
    const right = await host(material(path.join(tmp, 'dp'), ca.caPem, 'cp.cluster.test'));
    expect(await ping(right.libp2p, cp.port)).toBeGreaterThanOrEqual(0);
  });
});
