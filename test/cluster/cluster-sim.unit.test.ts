// The in-process simulation's stack (@libp2p/memory, plaintext, no pnet: bench:membership's
// many-member runs): a member whose listener is gone is refused like a closed TCP port, so its
// observers suspect it on strong evidence, and members that joined while gossip could not
// reach everyone are caught up by push-pull instead of waiting for the next round.
import { randomUUID } from 'node:crypto';
import os from 'node:os';
import pino from 'pino';
import { generateKeyPair } from '@libp2p/crypto/keys';
import { afterAll, expect, test } from 'vitest';
import { isRefused } from '../../src/cluster/probe.ts';
import { pskFromSecret, startCluster, type Cluster } from '../../src/cluster/index.ts';
import { until } from '../support/until.ts';

const running = new Set<Cluster>();
afterAll(async () => {
  await Promise.all([...running].map((c) => c.stop({ leave: false }).catch(() => {})));
});

/** The shared poller, for a plain condition. */
const untilTrue = (what: string, ok: () => boolean, ms: number) => until(what, async () => (ok() ? true : undefined), ms);

test('a dial to a memory address nobody listens on counts as refused; a timeout does not', () => {
  expect(isRefused(new Error('No memory listener found at /memory/x/p2p/12D3KooW'))).toBe(true);
  expect(isRefused(new AggregateError([new Error('connect ECONNREFUSED 127.0.0.1:1')], 'All multiaddr dials failed'))).toBe(true);
  expect(isRefused(new Error('The operation was aborted due to timeout'))).toBe(false);
});

test('members over @libp2p/memory with plaintext join all at once, agree, and fail a killed member on strong evidence', { timeout: 120_000 }, async () => {
  const N = 12;
  const tag = randomUUID().slice(0, 8);
  const psk = pskFromSecret('4d'.repeat(32));
  const logger = pino({ level: 'silent' });
  // Ring mode (more than 2 x 2 others); a push-pull round far beyond the test, so agreement
  // comes from gossip and the catch-up exchanges only.
  const settings = { probe_rings: 2, probe_interval_ms: 400, probe_timeout_ms: 800, push_pull_interval_ms: 600_000, catch_up_interval_ms: 500, gossip_interval_ms: 500, connection_ping_interval_ms: 30_000 };
  const start = async (i: number, seed: number | null) =>
    startCluster({
      nodeId: randomUUID(),
      nodeName: `v${String(i).padStart(2, '0')}`,
      role: 'traditional',
      version: 'test',
      prefix: os.tmpdir(),
      listen: [{ host: '127.0.0.1', port: 0 }],
      advertise: null,
      peers: seed === null ? [] : [`/memory/${tag}-${seed}`],
      psk,
      settings,
      logger,
      privateKey: await generateKeyPair('Ed25519'),
      memoryName: `${tag}-${i}`,
      plaintext: true,
    });
  const nodes: Cluster[] = [];
  const first = await start(0, null);
  running.add(first);
  nodes.push(first);
  // Everyone else joins through the first member at the same moment.
  const rest = await Promise.all(Array.from({ length: N - 1 }, (_, j) => start(j + 1, 0)));
  for (const c of rest) running.add(c);
  nodes.push(...rest);
  const listed = (c: Cluster) => c.members().filter((m) => m.status === 'alive' || m.status === 'suspect').length;
  await untilTrue('every member lists every other', () => nodes.every((c) => listed(c) === N), 60_000);

  const victim = nodes[6]!;
  const survivors = nodes.filter((c) => c !== victim);
  await victim.stop({ leave: false });
  running.delete(victim);
  await untilTrue('the killed member is failed on every survivor', () => survivors.every((c) => c.member(victim.nodeId)?.status === 'failed'), 60_000);
  expect(survivors.every((c) => c.member(c.nodeId)?.status === 'alive')).toBe(true);
});
