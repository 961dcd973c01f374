// The connection watch that replaces libp2p's connection monitor (issue #17): connections to
// live members get no ping streams of their own (the membership probes watch those), the
// others are pinged on the real stack (TCP, pnet, noise, yamux) and stay open while the peer
// answers, and a membership verdict closes every connection to a peer.
import { afterAll, expect, test } from 'vitest';
import { ConnectionWatch } from '../../src/cluster/connection-watch.ts';
import { pskFromSecret } from '../../src/cluster/index.ts';
import type { ClusterLibp2p } from '../../src/cluster/host.ts';
import { startTestHost } from '../support/libp2p-host.ts';
import { until } from '../support/until.ts';

const psk = pskFromSecret('7a'.repeat(32));
const hosts: ClusterLibp2p[] = [];
afterAll(async () => {
  await Promise.all(hosts.map(async (h) => h.stop()));
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** B answers pings with its own echo (what @libp2p/ping does: bytes back as they come) and counts the streams. */
async function countInboundPings(b: ClusterLibp2p): Promise<{ n: number }> {
  const count = { n: 0 };
  const protocol = '/ipfs/ping/1.0.0';
  await b.unhandle(protocol);
  await b.handle(protocol, (stream) => {
    count.n++;
    stream.addEventListener('message', (evt) => stream.send(evt.data));
    stream.addEventListener('remoteCloseWrite', () => void stream.close().catch(() => {}));
  }, { runOnLimitedConnection: true });
  return count;
}

test('live members are left to the probes; other peers are pinged and kept; a verdict closes the connection', { timeout: 60_000 }, async () => {
  const a = await startTestHost(psk);
  const b = await startTestHost(psk);
  hosts.push(a, b);
  await a.dial(b.getMultiaddrs()[0]!);
  const pings = await countInboundPings(b);
  const bId = b.peerId.toString();

  let member = true;
  const watch = new ConnectionWatch({ libp2p: a, watched: (p) => member && p === bId, intervalMs: 100, timeoutMs: 1000 });
  watch.start();
  try {
    await sleep(500);
    expect(watch.unwatched()).toHaveLength(0);
    expect(pings.n).toBe(0);

    member = false; // B is no live member any more (a stranger, a failed member dialling back)
    await until('B answers the watch pings', async () => (pings.n >= 3 ? true : undefined), 10_000);
    expect(a.getConnections(b.peerId).filter((c) => c.status === 'open').length).toBeGreaterThan(0);

    watch.hangUp(bId, 'member b failed');
    await until('A has no open connection to B', async () => (a.getConnections(b.peerId).every((c) => c.status !== 'open') ? true : undefined), 5000);
  } finally {
    watch.stop();
  }
});
