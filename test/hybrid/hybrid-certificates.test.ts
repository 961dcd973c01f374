// Hybrid mode: a certificate created, replaced and deleted on the control plane is pushed to a
// data plane, whose `ssl` listener presents it to new handshakes without restart; the data
// plane's read-only Admin API lists it with its SNIs.
import fs from 'node:fs';
import tls from 'node:tls';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { freePort } from '../../src/db/embedded.ts';
import type { SimNode } from '../../sim/harness/node-process.ts';
import { admin, hybridFixture, untilNodes, type HybridFixture } from '../support/hybrid.ts';
import { selfSigned } from '../support/tls-fixtures.ts';

let fx: HybridFixture;
let cp: SimNode;
let dp: SimNode;
let sslPort: number;

const until = (what: string, check: () => Promise<boolean>) => untilNodes(what, check, 30_000, [cp, dp]);

function presentedCn(servername: string): Promise<string | null> {
  return new Promise((resolve) => {
    const sock = tls.connect({ host: '127.0.0.1', port: sslPort, servername, rejectUnauthorized: false }, () => {
      const cn = sock.getPeerCertificate().subject?.CN;
      sock.end();
      resolve(typeof cn === 'string' ? cn : null);
    });
    sock.on('error', () => resolve(null));
  });
}

beforeAll(async () => {
  fx = await hybridFixture('hybrid-certs');
  const cpPort = await freePort();
  cp = await fx.node('cp', 'control_plane', { controlPlanePort: cpPort, clusterPort: cpPort });
  dp = await fx.node('dp', 'data_plane', { controlPlanePort: cpPort });
  sslPort = await freePort();
  const conf = fs.readFileSync(dp.confFile, 'utf8').replace(/^proxy_listen = (.*)$/m, (_, v: string) => `proxy_listen = ${v}, 127.0.0.1:${sslPort} ssl`);
  fs.writeFileSync(dp.confFile, conf);
  await cp.start();
  await dp.start();
}, 120_000);

afterAll(async () => {
  await fx?.close();
});

test('a certificate written on the control plane is presented by the data plane, replaced and deleted without restart', async () => {
  const name = 'dp.example.com';
  expect(await presentedCn(name)).toBe('localhost');
  const first = selfSigned('pushed-one.test');
  const created = await admin(cp, 'POST', '/certificates', { ...first, snis: [name] });
  expect(created.status).toBe(201);
  await until('the data plane presents the new certificate', async () => (await presentedCn(name)) === 'pushed-one.test');
  const listed = await admin(dp, 'GET', '/certificates');
  expect(listed.body.data).toMatchObject([{ id: created.body.id, snis: [name] }]);

  expect((await admin(cp, 'PATCH', `/certificates/${name}`, selfSigned('pushed-two.test'))).status).toBe(200);
  await until('the data plane presents the replaced certificate', async () => (await presentedCn(name)) === 'pushed-two.test');

  expect((await admin(cp, 'DELETE', `/certificates/${created.body.id}`)).status).toBe(204);
  await until('the data plane is back to its default certificate', async () => (await presentedCn(name)) === 'localhost');
  expect((await admin(dp, 'POST', '/certificates', first)).status).toBe(400);
}, 120_000);
