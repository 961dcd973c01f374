// Hybrid mode with cluster_mtls = pki (Kong's kong/clustering/tls.lua and conf_loader checks),
// real processes: a CA signs the control plane's and a data plane's certificates; the data
// plane connects (checking the control plane's name, cluster_server_name) and serves what the
// control plane is given; a data plane whose certificate another CA signed is refused, logged
// and counted as gossamer_cluster_refused_total{reason="certificate"}, and never a member. The
// data plane's on-disk cache is encrypted: a certificate's key is not in its files in clear.
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { freePort } from '../../src/db/embedded.ts';
import { generateClusterCert } from '../../src/hybrid/cert.ts';
import type { SimNode } from '../../sim/harness/node-process.ts';
import { clusterCa } from '../support/cluster-pki.ts';
import { admin, hybridFixture, nodeLog as log, proxied as get, untilNodes as until, type HybridFixture } from '../support/hybrid.ts';

let fx: HybridFixture;
let cp: SimNode;
let dp: SimNode;
let cpClusterPort = 0;
let caFile = '';
let otherCaFile = '';
const CP_NAME = 'cp.cluster.test';

async function refused(reason: string): Promise<number> {
  const text = await (await fetch(`${cp.adminUrl}/metrics`, { signal: AbortSignal.timeout(5000) })).text();
  const m = new RegExp(`^gossamer_cluster_refused_total\\{reason="${reason}"\\} (\\d+)`, 'm').exec(text);
  if (!m) throw new Error(`no gossamer_cluster_refused_total{reason="${reason}"} in /metrics`);
  return Number(m[1]);
}

beforeAll(async () => {
  fx = await hybridFixture('hybrid-pki', []);
  const ca = clusterCa(path.join(fx.tmp, 'ca'), 'cluster-ca');
  const other = clusterCa(path.join(fx.tmp, 'other-ca'), 'other-ca');
  caFile = ca.caFile;
  otherCaFile = other.caFile;
  ca.issue(path.join(fx.tmp, 'cp-cert'), CP_NAME);
  ca.issue(path.join(fx.tmp, 'dp-cert'), 'dp1.cluster.test');
  other.issue(path.join(fx.tmp, 'stranger-cert'), 'dp1.cluster.test');
  cpClusterPort = await freePort();
  const pki = { cluster_mtls: 'pki', cluster_ca_cert: caFile };
  cp = await fx.node('cp', 'control_plane', { controlPlanePort: cpClusterPort, clusterPort: cpClusterPort, certDir: 'cp-cert', extra: pki });
  dp = await fx.node('dp1', 'data_plane', { controlPlanePort: cpClusterPort, certDir: 'dp-cert', extra: { ...pki, cluster_server_name: CP_NAME } });
  await cp.start();
  await dp.start();
});

afterAll(async () => {
  await fx?.close();
});

test('a data plane whose certificate the CA signed syncs and serves what the control plane is given', async () => {
  await until('the data plane synced from the control plane', async () => (await admin(dp, 'GET', '/status')).body.hybrid?.source === 'control_plane', 30_000, [cp, dp]);
  expect((await admin(cp, 'POST', '/services', { name: 'echo', url: fx.echo.url })).status).toBe(201);
  expect((await admin(cp, 'POST', '/services/echo/routes', { name: 'r1', paths: ['/r1'] })).status).toBe(201);
  await until('the data plane serves /r1', async () => (await get(dp, '/r1')) === 200, 15_000, [cp, dp]);
  const members = (await admin(cp, 'GET', '/cluster/members')).body.data as { name: string; role: string }[];
  expect(members.filter((m) => m.role === 'data_plane').map((m) => m.name)).toEqual(['dp1']);
  expect(log(cp)).toMatch(/mutual TLS with cluster_ca_cert/);
  expect(await refused('certificate')).toBe(0);
});

test("the data plane's on-disk cache holds no private key in clear (encrypted with a key derived from its cluster_cert_key)", async () => {
  const pair = generateClusterCert({ commonName: 'secret.example' });
  const created = await admin(cp, 'POST', '/certificates', { cert: pair.cert, key: pair.key, snis: ['secret.example'] });
  expect(created.status).toBe(201);
  await until('the data plane has the certificate', async () => (await admin(dp, 'GET', `/certificates/${created.body.id}`)).status === 200, 15_000, [cp, dp]);
  const dir = path.join(dp.prefix, 'dp-cache');
  const bytes = Buffer.concat(fs.readdirSync(dir).map((f) => fs.readFileSync(path.join(dir, f))));
  const ownKey = fs.readFileSync(path.join(fx.tmp, 'dp-cert', 'cluster.key'), 'utf8');
  const markers = ['PRIVATE KEY', ...[pair.key, ownKey].flatMap((pem) => pem.split('\n').filter((l) => l && !l.startsWith('-----')))];
  expect(markers.filter((m) => bytes.includes(Buffer.from(m)))).toEqual([]);
});

test('a data plane with a certificate from another CA is refused, logged and counted; it never becomes a member', async () => {
  const stranger = await fx.node('dp-stranger', 'data_plane', {
    controlPlanePort: cpClusterPort,
    certDir: 'stranger-cert',
    extra: { cluster_mtls: 'pki', cluster_ca_cert: otherCaFile, cluster_server_name: CP_NAME },
  });
  await stranger.start();
  await until('the control plane counts a certificate refusal', async () => (await refused('certificate')) > 0, 20_000, [cp, stranger]);
  await until('the control plane logs the refusal', async () => /refused a connection from .*its certificate is not accepted/.test(log(cp)), 15_000, [cp]);
  expect(await get(stranger, '/r1')).toBe(404);
  const members = (await admin(cp, 'GET', '/cluster/members')).body.data as { name: string }[];
  expect(members.map((m) => m.name)).not.toContain('dp-stranger');
  const dps = (await admin(cp, 'GET', '/clustering/data-planes')).body.data as { name: string }[];
  expect(dps.map((d) => d.name)).toEqual(['dp1']);
  await stranger.kill();
});

test("a data plane expecting another control-plane name refuses the control plane's certificate", async () => {
  const wary = await fx.node('dp-wary', 'data_plane', {
    controlPlanePort: cpClusterPort,
    certDir: 'dp-cert',
    extra: { cluster_mtls: 'pki', cluster_ca_cert: caFile, cluster_server_name: 'elsewhere.cluster.test' },
  });
  await wary.start();
  await until('the data plane logs the name mismatch', async () => /connection to .* refused: TLS handshake failed .*elsewhere\.cluster\.test/.test(log(wary)), 20_000, [wary]);
  expect(await get(wary, '/r1')).toBe(404);
  await wary.kill();
});

test("start-up checks: Kong's rule that pki needs cluster_ca_cert; a cluster_cert the CA did not sign", async () => {
  const noCa = await fx.node('dp-no-ca', 'data_plane', { controlPlanePort: cpClusterPort, certDir: 'dp-cert', extra: { cluster_mtls: 'pki' } });
  await expect(noCa.start()).rejects.toThrow(/exited during start/);
  expect(log(noCa)).toMatch(/cluster_ca_cert must be specified when cluster_mtls = "pki"/);
  const unsigned = await fx.node('dp-unsigned', 'data_plane', { controlPlanePort: cpClusterPort, certDir: 'stranger-cert', extra: { cluster_mtls: 'pki', cluster_ca_cert: caFile } });
  await expect(unsigned.start()).rejects.toThrow(/exited during start/);
  expect(log(unsigned)).toMatch(/cluster_cert .*stranger-cert\/cluster\.crt is not signed by cluster_ca_cert \(issuer: CN=other-ca\)/);
});
