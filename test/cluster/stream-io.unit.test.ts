// Reading libp2p 3 streams (src/cluster/stream-io.ts) on the real stack (TCP, pnet, noise,
// yamux): a response that arrives whole, with its end, before anyone reads (buffered in the
// stream, or handed back by protocol selection's read-ahead) is read whole and ends the read.
import { randomBytes } from 'node:crypto';
import { afterAll, expect, test } from 'vitest';
import type { ClusterLibp2p } from '../../src/cluster/host.ts';
import { pskFromSecret } from '../../src/cluster/identity.ts';
import { readAll, writeAll } from '../../src/cluster/stream-io.ts';
import { startTestHost } from '../support/libp2p-host.ts';

const psk = pskFromSecret('5c'.repeat(32));
const hosts: ClusterLibp2p[] = [];
afterAll(async () => {
  await Promise.all(hosts.map(async (h) => h.stop()));
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('a response sent at once with its end is read whole, however late the reader comes', { timeout: 30_000 }, async () => {
  const [a, b] = [await startTestHost(psk), await startTestHost(psk)];
  hosts.push(a, b);
  let payload = new Uint8Array(0);
  await b.handle('/test/offer/1.0.0', (stream) => void writeAll(stream, payload));
  const conn = await a.dial(b.getMultiaddrs()[0]!);
  for (const size of [100, 300_000]) {
    payload = new Uint8Array(randomBytes(size));
    for (const lateMs of [0, 0, 0, 300]) {
      const stream = await conn.newStream('/test/offer/1.0.0');
      if (lateMs) await sleep(lateMs);
      const got = await readAll(stream, 1_000_000, AbortSignal.timeout(5000));
      expect(Buffer.compare(Buffer.from(got), Buffer.from(payload))).toBe(0);
    }
  }
});

test('request and response, each ended by closing the write half; an oversized response is refused', { timeout: 30_000 }, async () => {
  const [a, b] = [await startTestHost(psk), await startTestHost(psk)];
  hosts.push(a, b);
  await b.handle('/test/echo/1.0.0', async (stream) => {
    const req = await readAll(stream, 1000, AbortSignal.timeout(5000));
    await writeAll(stream, new Uint8Array([...req].reverse()));
  });
  const conn = await a.dial(b.getMultiaddrs()[0]!);
  const stream = await conn.newStream('/test/echo/1.0.0');
  await writeAll(stream, new Uint8Array([1, 2, 3]));
  expect([...(await readAll(stream, 1000, AbortSignal.timeout(5000)))]).toEqual([3, 2, 1]);

  const big = await conn.newStream('/test/echo/1.0.0');
  await writeAll(big, new Uint8Array(100));
  await expect(readAll(big, 10, AbortSignal.timeout(5000))).rejects.toThrow(/larger than 10 bytes/);
});
