// Sharing rate-limit counters by gossip (src/sync/counters/share.ts) with real NodeCounters and
// an in-test cluster (members, publish, subscribe): a claim goes out at once, in one small
// message; a node cut off from its peers counts alone and says so once per outage.
import pino from 'pino';
import { afterEach, expect, test, vi } from 'vitest';
import type { TotalsEntry } from '../../src/proxy/counters.ts';
import { NodeCounters, type CounterEntry } from '../../src/proxy/node-counters.ts';
import { COUNTERS_TOPIC, shareCounters, type CounterCluster } from '../../src/sync/counters/share.ts';

const stops: (() => void)[] = [];
afterEach(() => {
  for (const s of stops.splice(0)) s();
  vi.useRealTimers();
});

function node(members: { id: string; status: string; role?: string }[]) {
  const counters = new NodeCounters();
  const published: CounterEntry[][] = [];
  let deliver: ((data: Uint8Array, from: { id: string; name: string }) => void) | null = null;
  const cluster: CounterCluster = {
    nodeId: 'me',
    members: () => members,
    publish: async (topic, data) => {
      expect(topic).toBe(COUNTERS_TOPIC);
      published.push(JSON.parse(new TextDecoder().decode(data)) as CounterEntry[]);
    },
    subscribe: (_topic, handler) => {
      deliver = handler;
      return () => {
        deliver = null;
      };
    },
  };
  const lines: { level: number; msg: string }[] = [];
  const log = pino({ level: 'info' }, { write: (s: string) => void lines.push(JSON.parse(s) as { level: number; msg: string }) });
  const stop = shareCounters({ counters, cluster, intervalMs: 1000, log });
  stops.push(() => {
    stop();
    counters.close();
  });
  return { counters, published, lines, receive: (from: string, e: CounterEntry[]) => deliver!(new TextEncoder().encode(JSON.stringify(e)), { id: from, name: from }) };
}

test('a used-up part is published at once, with the total and the cap; counts within it wait for the interval', async () => {
  vi.useFakeTimers();
  const n = node([{ id: 'me', status: 'alive' }, { id: 'b', status: 'alive' }, { id: 'cp', status: 'alive', role: 'control_plane' }]);
  const end = Date.now() + 60_000;
  // the first part, 10 between the two proxying members: 5, known to both without a message
  n.counters.merge([['cluster|10|k', end, 1]]);
  vi.advanceTimersByTime(10);
  expect(n.published).toHaveLength(0);
  vi.advanceTimersByTime(1000);
  expect(n.published).toEqual([[['cluster|10|k', end, 1, 5]]]);
  // used up: said at once (b, asked for nothing, would give its part back)
  n.counters.merge([['cluster|10|k', end, 4]]);
  vi.advanceTimersByTime(0);
  expect(n.published.at(-1)).toEqual([['cluster|10|k', end, 5, 5, 1]]);
  // b gave its part back: asked again, this node claims its share of the 5 free (of 2 nodes:
  // 2 or 3 by the slot's rank), says so at once, and its workers may pass that many more
  expect(n.receive('b', [['cluster|10|k', end, 0, 0]])).toBeUndefined();
  const [[, , sum, hold]] = n.counters.merge([['cluster|10|k', end, 0]]) as [TotalsEntry];
  vi.advanceTimersByTime(0);
  const [[, , total, cap]] = n.published.at(-1)!;
  expect([sum, total]).toEqual([5, 5]);
  expect([2, 3]).toContain(cap! - 5);
  expect(hold).toBe(10 - cap!);
});

test('a node cut off from every peer counts alone up to the limit and says so once; again when peers are back', async () => {
  vi.useFakeTimers();
  const members = [{ id: 'me', status: 'alive' }, { id: 'b', status: 'alive' }];
  const n = node(members);
  members[1]!.status = 'dead';
  const end = Date.now() + 60_000;
  let passed = 0;
  let seen = 0;
  for (let i = 0; i < 15; i++) {
    if (10 - seen <= 0) continue;
    passed++;
    const [[, , sum, hold = 0]] = n.counters.merge([['cluster|10|k', end, 1]]) as [TotalsEntry];
    seen = sum + hold;
    vi.advanceTimersByTime(1100);
  }
  expect(passed).toBe(10);
  const warns = n.lines.filter((l) => l.msg.includes('no other cluster member reachable'));
  expect(warns).toHaveLength(1);
  members[1]!.status = 'alive';
  n.counters.merge([['cluster|20|k2', end, 1]]);
  vi.advanceTimersByTime(1100);
  expect(n.lines.filter((l) => l.msg.includes('reachable again'))).toHaveLength(1);
});
