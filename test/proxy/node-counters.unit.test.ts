// The primary's counters with the cluster's share (src/proxy/node-counters.ts, allotment.ts):
// sums, idempotent remote totals, the split of the free headroom, and the bound it gives
// (src/sync/counters/share.ts) on real NodeCounters wired by an in-test message bus with a
// fake clock: what a node's workers would admit is what the counters told them (sum + hold).
import { afterEach, beforeEach, expect, test, vi } from 'vitest';
import { allotment, firstPart, rankIn, SLOT_MS, split } from '../../src/proxy/allotment.ts';
import { WorkerCounters, type TotalsEntry } from '../../src/proxy/counters.ts';
import { NodeCounters, RELEASE_MS } from '../../src/proxy/node-counters.ts';

let made: NodeCounters[] = [];
beforeEach(() => {
  vi.useFakeTimers({ now: 1_000_000 });
});
afterEach(() => {
  for (const c of made) c.close();
  made = [];
  vi.useRealTimers();
});

function counters(): NodeCounters {
  const c = new NodeCounters();
  made.push(c);
  return c;
}

test('allotment: floor(free / n) each, the remainder to the first free mod n ranks; the parts sum to free', () => {
  expect([0, 1, 2, 3, 4].map((r) => allotment(7, 5, r))).toEqual([2, 2, 1, 1, 1]);
  expect([0, 1, 2].map((r) => allotment(2, 3, r))).toEqual([1, 1, 0]);
  expect(allotment(0, 3, 0)).toBe(0);
  expect(allotment(-4, 3, 0)).toBe(0);
  for (let n = 1; n <= 7; n++) {
    for (let free = 0; free <= 40; free++) {
      let sum = 0;
      for (let r = 0; r < n; r++) sum += allotment(free, n, r);
      expect(sum).toBe(free);
    }
  }
});

test('rankIn: the sorted ids turned by one every slot, the same on every node', () => {
  const ids = ['a', 'b', 'c'];
  const t = 10 * SLOT_MS * 3; // a slot number divisible by 3
  expect(ids.map((id) => rankIn(id, ids, t))).toEqual([0, 1, 2]);
  expect(ids.map((id) => rankIn(id, ids, t + SLOT_MS))).toEqual([1, 2, 0]);
  // distinct ranks in any one slot: the remainder is never given twice
  for (let s = 0; s < 6; s++) expect(new Set(ids.map((id) => rankIn(id, ids, t + s * SLOT_MS))).size).toBe(3);
});

test('split: first parts are disjoint and known without a message; what is free is split between all by rotating rank', () => {
  const members = ['a', 'b', 'c'];
  expect(members.map((m) => firstPart(10, members, m))).toEqual([4, 3, 3]);
  const view = (self: string, peers: [string, number, number, boolean][], cap: number) =>
    split({ limit: 10, self, members, peers: new Map(peers.map(([id, total, c, wants]) => [id, { total, cap: c, wants }])), cap, now: 0 });
  // nothing heard: the peers hold their first parts, nothing is free
  expect(view('a', [], 4)).toEqual({ free: 0, add: 0, othersWant: false });
  // b gave its part back (cap = its count, 0), c used its own up and wants more: 3 free,
  // split between the three by the rank of the slot; a and c take theirs, b's stays free
  const a = view('a', [['b', 0, 0, false], ['c', 3, 3, true]], 4);
  const c = view('c', [['a', 4, 4, true], ['b', 0, 0, false]], 3);
  const b = view('b', [['a', 4, 4, true], ['c', 3, 3, true]], 0);
  expect([a.free, b.free, c.free, a.othersWant]).toEqual([3, 3, 3, true]);
  expect(a.add + b.add + c.add).toBe(3);
  // a node with no part (limit < nodes) that is asked wants more too
  expect(split({ limit: 2, self: 'a', members, peers: new Map([['c', { total: 0, cap: 0, wants: true }]]), cap: 1, now: 0 }).othersWant).toBe(true);
  // a peer that claimed more than its first part leaves less
  expect(view('c', [['a', 4, 4, false], ['b', 3, 6, false]], 3).free).toBe(-3);
  // a gone member keeps only its count, not its cap
  expect(split({ limit: 10, self: 'a', members: ['a'], peers: new Map([['b', { total: 2, cap: 5, wants: false }]]), cap: 0, now: 0 }).free).toBe(8);
});

test('a worker is told this node plus every other node; local keys stay local; a total is idempotent', () => {
  const c = counters();
  c.setMembers('n1', ['n1', 'n2', 'n3']);
  const later = Date.now() + 60_000;
  expect(c.merge([['plain', later, 3]])).toEqual([['plain', later, 3]]);
  expect(c.merge([['cluster|10|k', later, 2]]).map((e) => e[2])).toEqual([2]);
  expect(c.applyRemote('n2', [['cluster|10|k', later, 4, 4], ['plain', later, 9]]).map((e) => e[2])).toEqual([6]);
  // totals, not increments: a repeated or older message changes nothing
  expect(c.applyRemote('n2', [['cluster|10|k', later, 4, 4]])).toEqual([]);
  expect(c.applyRemote('n2', [['cluster|10|k', later, 3, 3]])).toEqual([]);
  // a message without a cap (3 fields) counts its total as the cap
  expect(c.applyRemote('n3', [['cluster|10|k', later, 1]]).map((e) => e[2])).toEqual([7]);
  // what is shared is this node's own total and cap
  const shared = c.takeChanged();
  expect(shared.map((e) => [e[0], e[2]])).toEqual([['cluster|10|k', 2]]);
  expect(shared[0]![3]).toBeGreaterThanOrEqual(2);
  expect(c.takeChanged()).toEqual([]);
  expect(c.applyRemote('n2', [['cluster|10|old', Date.now() - 1, 5, 5]])).toEqual([]);
});

/** N real NodeCounters, messages between them delayed by `hopMs` (or dropped), and their workers' view. */
function sim(n: number, opts: { hopMs: number; intervalMs?: number; drop?: (from: number, seq: number) => boolean }) {
  const ids = Array.from({ length: n }, (_, i) => `node-${i}`);
  const views = ids.map(() => new Map<string, [sum: number, hold: number]>());
  const sent = { urgent: 0, lazy: 0 };
  const seq = ids.map(() => 0);
  const nodes = ids.map((id, i) => {
    const c = counters();
    c.setMembers(id, ids);
    const tell = (entries: TotalsEntry[]) => {
      for (const [key, , sum, hold = 0] of entries) views[i]!.set(key, [sum, hold]);
    };
    c.onPush(tell);
    let lazy: NodeJS.Timeout | null = null;
    let soon = false;
    const publish = (urgent: boolean) => {
      if (lazy) clearTimeout(lazy);
      lazy = null;
      soon = false;
      const entries = c.takeChanged();
      if (!entries.length) return;
      sent[urgent ? 'urgent' : 'lazy']++;
      if (opts.drop?.(i, seq[i]!++)) return;
      nodes.forEach((peer, j) => {
        if (j !== i) setTimeout(() => peer.tell(peer.c.applyRemote(id, entries)), opts.hopMs);
      });
    };
    c.onChange((urgent) => {
      if (urgent && !soon) {
        soon = true;
        setTimeout(() => publish(true), 0);
      } else if (!urgent) lazy ??= setTimeout(() => publish(false), opts.intervalMs ?? 1000);
    });
    return { c, tell };
  });
  const expiresAt = Date.now() + 3_600_000;
  return {
    sent,
    /**
     * One request at node i: admitted when its workers see headroom, as the plugin decides; a
     * request refused for the node's cap tells the primary it is asked (WorkerCounters.want).
     */
    request(i: number, limit: number): boolean {
      const key = `cluster|${limit}|rl:test`;
      const [sum, hold] = views[i]!.get(key) ?? [0, 0];
      if (limit - sum - hold <= 0) {
        if (hold > 0) nodes[i]!.tell(nodes[i]!.c.merge([[key, expiresAt, 0]]));
        return false;
      }
      nodes[i]!.tell(nodes[i]!.c.merge([[key, expiresAt, 1]]));
      return true;
    },
  };
}

/** `count` requests `gapMs` apart, sent to the nodes `at(k)` picks; returns how many passed. */
function load(s: ReturnType<typeof sim>, limit: number, count: number, gapMs: number, at: (k: number) => number): number {
  let passed = 0;
  for (let k = 0; k < count; k++) {
    if (s.request(at(k), limit)) passed++;
    vi.advanceTimersByTime(gapMs);
  }
  return passed;
}

test('round robin, hops faster than requests: exactly the limit passes', () => {
  for (const n of [3, 5]) {
    const s = sim(n, { hopMs: 5 });
    expect(load(s, 10, 50, 20, (k) => k % n)).toBe(10);
  }
});

test('round robin at 5x the limit, gossip hops longer than the request gap: exactly the limit', () => {
  // The bench's case: 5 nodes, 10 per window, 50 requests a second (the nodes' first requests
  // span 80 ms), hops of 50 and 300 ms: the first parts are disjoint whatever was heard.
  for (const hopMs of [50, 300]) {
    for (const limit of [10, 23, 100]) {
      const s = sim(5, { hopMs });
      expect(load(s, limit, limit * 5, 20, (k) => k % 5)).toBe(limit);
    }
  }
});

test('claims, not requests, are sent at once: about one urgent message per node and window at 10 per window', () => {
  const s = sim(5, { hopMs: 5 });
  load(s, 10, 50, 20, (k) => k % 5);
  expect(s.sent.urgent).toBeLessThanOrEqual(10);
});

test('all traffic on one node of three: its first part at once, the rest once the others gave theirs back', () => {
  const s = sim(3, { hopMs: 20 });
  // one request per millisecond for 30 ms: its first part, allotment(10, 3, 0) = 4; it says
  // it used it up, the idle nodes give theirs back, it claims what is free
  const first = load(s, 10, 30, 1, () => 0);
  expect(first).toBeGreaterThanOrEqual(4);
  const rest = load(s, 10, 40, 10, () => 0);
  expect(first + rest).toBe(10);
});

test('a node cut off from its peers counts alone up to the limit', () => {
  const c = counters();
  c.setMembers('solo', ['solo']);
  let seen = 0;
  const expiresAt = Date.now() + 60_000;
  let passed = 0;
  for (let k = 0; k < 30; k++) {
    if (10 - seen <= 0) continue;
    passed++;
    const [[, , sum, hold = 0]] = c.merge([['cluster|10|k', expiresAt, 1]]) as [TotalsEntry];
    seen = sum + hold;
  }
  expect(passed).toBe(10);
});

test('load moving away from a node: it gives back the part it holds unused, the others reach the limit', () => {
  const s = sim(3, { hopMs: 5 });
  // round robin until every node holds a part, then only nodes 1 and 2
  const before = load(s, 12, 3, 10, (k) => k % 3);
  const after = load(s, 12, 200, 10, (k) => 1 + (k % 2));
  expect(before + after).toBe(12);
  expect(RELEASE_MS).toBeLessThan(200 * 10);
});

test('a lost claim is bounded: the overshoot is at most that claim', () => {
  // Node 0 takes all the traffic: it says it used its first part up (its message 0), the
  // others give theirs back, it claims the 20 left (its message 1, lost). Then the traffic
  // goes round: the others, not knowing of that claim, claim the same 20 again.
  const s = sim(3, { hopMs: 5, drop: (from, n) => from === 0 && n === 1 });
  const hot = load(s, 30, 60, 5, () => 0);
  expect(hot).toBe(30);
  const after = load(s, 30, 90, 5, (k) => k % 3);
  expect(hot + after).toBeLessThanOrEqual(30 + 20);
  // without the loss, the same traffic passes exactly the limit
  const t = sim(3, { hopMs: 5 });
  expect(load(t, 30, 60, 5, () => 0) + load(t, 30, 90, 5, (k) => k % 3)).toBe(30);
});

test('a limit below the number of nodes: a node without a part that has all the traffic gets the others\' parts', () => {
  // limit 2 over 5 nodes: first parts 1, 1, 0, 0, 0; all traffic on node 4
  const s = sim(5, { hopMs: 5 });
  expect(load(s, 2, 60, 10, () => 4)).toBe(2);
  const t = sim(5, { hopMs: 5 });
  expect(load(t, 2, 60, 10, (k) => k % 5)).toBe(2);
});

test('traffic moving between random nodes every 300 ms (seeded): exact with hops under the request gap, within N - 1 with hops 3x it', () => {
  let seed = 42;
  const rnd = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
  for (const n of [3, 5]) {
    for (const limit of [2, 7, 10, 50]) {
      for (const hopMs of [5, 30]) {
        for (let trial = 0; trial < 4; trial++) {
          const s = sim(n, { hopMs });
          let subset = [0];
          const passed = load(s, limit, 200, 10, (k) => {
            if (k % 30 === 0) subset = Array.from({ length: n }, (_, i) => i).filter(() => rnd() < 0.5);
            if (!subset.length) subset = [Math.floor(rnd() * n)];
            return subset[Math.floor(rnd() * subset.length)]!;
          });
          if (hopMs < 10) expect(passed, `n ${n} limit ${limit} hop ${hopMs}`).toBe(limit);
          else expect(passed - limit, `n ${n} limit ${limit} hop ${hopMs}`).toBeLessThanOrEqual(n - 1);
        }
      }
    }
  }
});

test('a worker with no news of a shared key passes its node first part; refused for the cap, it tells the primary', () => {
  const sent: [string, number, number][][] = [];
  const w = new WorkerCounters((m) => sent.push(m.entries));
  try {
    w.setSplit(3, 1);
    const key = 'cluster|10|rl:x';
    const end = Date.now() + 60_000;
    // a burst before any answer: allotment(10, 3, 1) = 3 pass, as the primary's first claim
    let passed = 0;
    for (let i = 0; i < 10; i++) {
      if (10 - w.get(key, end) > 0) {
        w.incr(key, end, 1);
        passed++;
      }
    }
    expect(passed).toBe(3);
    vi.runOnlyPendingTimers();
    // the three increments, and the want (an increment of 0) the refusals after them said
    expect(sent).toEqual([[[key, end, 3]]]);
    // refused again a slot later: an increment of 0 says the node is asked for more
    vi.advanceTimersByTime(SLOT_MS);
    const before = sent.length;
    w.get(key, end);
    w.get(key, end);
    vi.advanceTimersByTime(1);
    expect(sent.slice(before)).toEqual([[[key, end, 0]]]);
    // a key without a limit and a local key are not held
    expect(w.get('plain', end)).toBe(0);
    // the primary's answer replaces the hold: its node claimed more
    w.onTotals([[key, end, 3, 2]], new Map([[key, 3]]));
    expect(w.get(key, end)).toBe(5);
  } finally {
    w.close();
  }
});
