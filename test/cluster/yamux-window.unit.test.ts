// The yamux window update policy (src/cluster/yamux-window.ts): go-yamux's, an update only
// once half the receive window is used. On js-yamux's real stream class, fed real frames, and
// on two real hosts (TCP, pnet, noise, yamux) moving more than a whole window each way.
import { randomBytes } from 'node:crypto';
import { YamuxStream, StreamState } from '@chainsafe/libp2p-yamux/stream';
import { logger } from '@libp2p/logger';
import { Uint8ArrayList } from 'uint8arraylist';
import { afterAll, expect, test } from 'vitest';
import type { ClusterLibp2p } from '../../src/cluster/host.ts';
import { pskFromSecret } from '../../src/cluster/identity.ts';
import { readAll, writeAll } from '../../src/cluster/stream-io.ts';
import { installYamuxWindowPolicy } from '../../src/cluster/yamux-window.ts';
import { startTestHost } from '../support/libp2p-host.ts';

interface Sent { type: number; flag: number; length: number }

function stream(state: StreamState, sent: Sent[]): YamuxStream {
  installYamuxWindowPolicy();
  return new YamuxStream({
    id: '1',
    streamId: 1,
    state,
    direction: 'inbound',
    log: logger('yamux-window-test'),
    sendFrame: (h: Sent) => (sent.push(h), true),
    getRTT: () => 1,
  } as unknown as ConstructorParameters<typeof YamuxStream>[0]);
}

const data = (n: number) => ({ header: { type: 0, flag: 0, streamID: 1, length: n }, data: new Uint8ArrayList(new Uint8Array(n)) });
const WINDOW = 256 * 1024;

test('small frames get no window update until half the window is used, then one for all of it', () => {
  const sent: Sent[] = [];
  const s = stream(StreamState.Established, sent);
  for (let i = 0; i < 100; i++) s.handleData(data(32));
  expect(sent).toEqual([]);
  s.handleData(data(WINDOW / 2 - 3200));
  expect(sent).toHaveLength(1);
  expect(sent[0]!.type).toBe(1);
  // Everything used so far is given back, in one update.
  expect(sent[0]!.length).toBeGreaterThanOrEqual(WINDOW / 2);
});

test('a flag that must go out (the ACK of a new inbound stream) goes out with the first frame', () => {
  const sent: Sent[] = [];
  const s = stream(StreamState.SYNReceived, sent);
  s.handleData(data(32));
  expect(sent).toHaveLength(1);
  expect(sent[0]!.flag & 2).toBe(2);
  s.handleData(data(32));
  expect(sent).toHaveLength(1);
});

const psk = pskFromSecret('7a'.repeat(32));
const hosts: ClusterLibp2p[] = [];
afterAll(async () => {
  await Promise.all(hosts.map(async (h) => h.stop()));
});

test('four windows each way between two real hosts arrive whole (flow control still works)', { timeout: 30_000 }, async () => {
  const [a, b] = [await startTestHost(psk), await startTestHost(psk)];
  hosts.push(a, b);
  await b.handle('/test/echo-big/1.0.0', async (s) => {
    const req = await readAll(s, 4 * WINDOW, AbortSignal.timeout(10_000));
    await writeAll(s, new Uint8Array([...req].reverse()));
  });
  const payload = new Uint8Array(randomBytes(4 * WINDOW));
  const s = await a.dialProtocol(b.getMultiaddrs()[0]!, '/test/echo-big/1.0.0');
  await writeAll(s, payload);
  const got = await readAll(s, 4 * WINDOW, AbortSignal.timeout(10_000));
  expect(Buffer.compare(Buffer.from(got), Buffer.from(payload.reverse()))).toBe(0);
});
