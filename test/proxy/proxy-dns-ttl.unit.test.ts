// A service pointing at a host name re-resolves it when the record's TTL runs out, and not
// before (Kong's dns_* behaviour). A small DNS server on a loopback UDP port (node:dgram)
// answers A queries with addresses and TTLs the test changes; the proxy's resolver asks it.
import { afterAll, beforeAll, expect, test } from 'vitest';
import dgram from 'node:dgram';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { freePort } from '../../src/db/embedded.ts';
import { createProxyServer, type ProxyServer } from '../../src/proxy/server.ts';
import { get, route, service, snapshot } from '../support/proxy-fixtures.ts';

/** name → [address, ttl seconds]; queries counted per name. */
const zone = new Map<string, [string, number]>();
const queries = new Map<string, number>();
let dnsServer: dgram.Socket;
let proxy: ProxyServer;
let base: string;
const upstreams: http.Server[] = [];

function answer(q: Buffer): Buffer | null {
  if (q.length < 12 || q.readUInt16BE(4) !== 1) return null;
  let at = 12;
  const labels: string[] = [];
  while (at < q.length && q[at] !== 0) {
    labels.push(q.subarray(at + 1, at + 1 + q[at]!).toString('ascii'));
    at += 1 + q[at]!;
  }
  const qEnd = at + 5; // zero label, qtype, qclass
  const name = labels.join('.').toLowerCase();
  const qtype = q.readUInt16BE(at + 1);
  queries.set(name, (queries.get(name) ?? 0) + 1);
  const rec = zone.get(name);
  const header = Buffer.alloc(12);
  header.writeUInt16BE(q.readUInt16BE(0), 0);
  const found = rec !== undefined && qtype === 1;
  header.writeUInt16BE(rec === undefined ? 0x8183 : 0x8180, 2); // NXDOMAIN when unknown
  header.writeUInt16BE(1, 4);
  header.writeUInt16BE(found ? 1 : 0, 6);
  const question = q.subarray(12, qEnd);
  if (!found) return Buffer.concat([header, question]);
  const rr = Buffer.alloc(16);
  rr.writeUInt16BE(0xc00c, 0); // name: pointer to the question
  rr.writeUInt16BE(1, 2); // A
  rr.writeUInt16BE(1, 4); // IN
  rr.writeUInt32BE(rec[1], 6);
  rr.writeUInt16BE(4, 10);
  rec[0].split('.').forEach((o, i) => (rr[12 + i] = Number(o)));
  return Buffer.concat([header, question, rr]);
}

/** An upstream on `host:port` that says which address it is. */
function upstreamOn(host: string, port: number): Promise<void> {
  const srv = http.createServer((_req, res) => res.end(JSON.stringify({ at: host })));
  upstreams.push(srv);
  return new Promise((r) => srv.listen(port, host, () => r()));
}

async function servedBy(path: string): Promise<string> {
  const r = await get(`${base}${path}`);
  expect(r.status).toBe(200);
  return (JSON.parse(r.text) as { at: string }).at;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let port: number;
beforeAll(async () => {
  dnsServer = dgram.createSocket('udp4');
  dnsServer.on('message', (msg, rinfo) => {
    const out = answer(msg);
    if (out) dnsServer.send(out, rinfo.port, rinfo.address);
  });
  await new Promise<void>((r) => dnsServer.bind(0, '127.0.0.1', () => r()));
  port = await freePort();
  // Linux routes all of 127/8 to the loopback interface: two hosts on one machine.
  await upstreamOn('127.0.0.1', port);
  await upstreamOn('127.0.0.2', port);
  zone.set('short.gossamer.test', ['127.0.0.1', 1]);
  zone.set('long.gossamer.test', ['127.0.0.1', 3600]);
  const sShort = service({ host: 'short.gossamer.test', port });
  const sLong = service({ host: 'long.gossamer.test', port });
  proxy = await createProxyServer({ snapshot: snapshot({ services: [sShort, sLong], routes: [route(sShort, { paths: ['/short'] }), route(sLong, { paths: ['/long'] })] }) });
  proxy.runtime.balancers.dns.useServers([`127.0.0.1:${(dnsServer.address() as AddressInfo).port}`]);
  base = `http://127.0.0.1:${(await proxy.listen(0, '127.0.0.1')).port}`;
});

afterAll(async () => {
  await proxy?.close();
  for (const u of upstreams) await new Promise<void>((r) => u.close(() => r()));
  dnsServer?.close();
});

test('an expired record is asked for again and the new address gets the traffic', async () => {
  expect(await servedBy('/short')).toBe('127.0.0.1');
  expect(queries.get('short.gossamer.test')).toBe(1);
  zone.set('short.gossamer.test', ['127.0.0.2', 1]);
  // The stale answer keeps serving while the refresh runs; within a few TTLs the new one is used.
  let at = '';
  for (let i = 0; i < 50 && at !== '127.0.0.2'; i++) {
    await sleep(100);
    at = await servedBy('/short');
  }
  expect(at).toBe('127.0.0.2');
  expect(queries.get('short.gossamer.test')).toBeGreaterThanOrEqual(2);
});

test('a record whose TTL has not run out is not asked for again', async () => {
  expect(await servedBy('/long')).toBe('127.0.0.1');
  zone.set('long.gossamer.test', ['127.0.0.2', 3600]);
  // Longer than the short record took to change above: this one must not change.
  for (let i = 0; i < 15; i++) {
    await sleep(100);
    expect(await servedBy('/long')).toBe('127.0.0.1');
  }
  expect(queries.get('long.gossamer.test')).toBe(1);
});
