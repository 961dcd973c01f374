// The control plane's kept push stream to a data plane (src/sync/push/push-channel.ts) when the
// data plane stops reading: the messages must not pile up without bound.
import { randomBytes } from 'node:crypto';
import { expect, test } from 'vitest';
import type { ClusterLibp2p } from '../../src/cluster/host.ts';
import { pskFromSecret } from '../../src/cluster/identity.ts';
import { handlePush, openPushStream, PUSH_PROTOCOL } from '../../src/sync/push/protocol.ts';
import { PushChannel } from '../../src/sync/push/push-channel.ts';
import { startTestHost } from '../support/libp2p-host.ts';

test('a data plane that stops reading: the channel drops its stream and queue, says so, and the next message opens a new stream', async () => {
  const psk = pskFromSecret(randomBytes(32).toString('hex'));
  const hosts = [await startTestHost(psk), await startTestHost(psk)];
  const [cp, dp] = hosts as [ClusterLibp2p, ClusterLibp2p];
  try {
    // A reader that reads once, then never again (a hung data plane): paused, the stream stops
    // granting yamux window, which fills, and the channel's writes wait.
    await dp.handle(
      PUSH_PROTOCOL,
      (stream) => {
        stream.addEventListener('message', () => stream.pause(), { once: true });
      },
      { maxInboundStreams: 16 },
    );
    let opened = 0;
    const errors: string[] = [];
    const ch = new PushChannel(
      async () => {
        opened++;
        return openPushStream(await cp.dial(dp.getMultiaddrs()[0]!), 5000);
      },
      (err) => errors.push(err.message),
      4,
    );
    const big = () => new Uint8Array(randomBytes(400_000));
    let refused = 0;
    const deadline = Date.now() + 10_000;
    // The first messages fill the window; the queue then grows to 4 and the next is refused.
    while (refused === 0 && Date.now() < deadline) {
      if (!ch.send(big())) refused++;
      await new Promise((r) => setTimeout(r, 20));
    }
    expect(refused).toBe(1);
    expect(errors.join('\n')).toMatch(/4 pushes queued: the data plane is not reading/);
    expect(opened).toBe(1);

    // The data plane reads again: the next message goes out on a new stream and arrives whole.
    await dp.unhandle(PUSH_PROTOCOL);
    const got: Uint8Array[] = [];
    await handlePush(dp, (bytes) => got.push(new Uint8Array(bytes)));
    const last = new Uint8Array(randomBytes(1000));
    expect(ch.send(last)).toBe(true);
    const until = Date.now() + 10_000;
    while (got.length === 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
    expect(opened).toBe(2);
    expect(got.map((b) => Buffer.from(b).toString('hex'))).toEqual([Buffer.from(last).toString('hex')]);
    ch.close();
  } finally {
    await Promise.all(hosts.map((h) => h.stop()));
  }
});

test('messages larger than a frame (split over many chunks) and small ones between them arrive whole and in order', async () => {
  const psk = pskFromSecret(randomBytes(32).toString('hex'));
  const hosts = [await startTestHost(psk), await startTestHost(psk)];
  const [cp, dp] = hosts as [ClusterLibp2p, ClusterLibp2p];
  try {
    const got: string[] = [];
    await handlePush(dp, (bytes) => got.push(Buffer.from(bytes).toString('hex')));
    const ch = new PushChannel(async () => openPushStream(await cp.dial(dp.getMultiaddrs()[0]!), 5000), () => {});
    // 1 MB and 300 kB cross noise's 64 kB frames; 1- to 3-byte messages can share a chunk with a length prefix.
    const sent = [1_000_000, 3, 300_000, 1, 2, 70_000].map((n) => new Uint8Array(randomBytes(n)));
    for (const m of sent) expect(ch.send(m)).toBe(true);
    const until = Date.now() + 15_000;
    while (got.length < sent.length && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
    expect(got).toEqual(sent.map((m) => Buffer.from(m).toString('hex')));
    ch.close();
  } finally {
    await Promise.all(hosts.map((h) => h.stop()));
  }
});
