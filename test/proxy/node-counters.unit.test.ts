// The primary's counters with the cluster's share: sums, idempotent remote totals, and when a
// shared count is urgent (src/proxy/node-counters.ts).
import { afterEach, expect, test } from 'vitest';
import { NodeCounters } from '../../src/proxy/node-counters.ts';

const later = Date.now() + 60_000;
let c: NodeCounters;
afterEach(() => c?.close());

test('a worker is told this node plus every other node; local keys stay local', () => {
  c = new NodeCounters();
  expect(c.merge([['cluster|10|k', later, 2], ['plain', later, 3]])).toEqual([['cluster|10|k', later, 2], ['plain', later, 3]]);
  expect(c.applyRemote('n2', [['cluster|10|k', later, 4], ['plain', later, 9]])).toEqual([['cluster|10|k', later, 6]]);
  // totals, not increments: a repeated or older message changes nothing
  expect(c.applyRemote('n2', [['cluster|10|k', later, 4]])).toEqual([]);
  expect(c.applyRemote('n2', [['cluster|10|k', later, 3]])).toEqual([]);
  expect(c.applyRemote('n3', [['cluster|10|k', later, 1]])).toEqual([['cluster|10|k', later, 7]]);
  expect(c.merge([['cluster|10|k', later, 1]])).toEqual([['cluster|10|k', later, 8]]);
  // what is shared is this node's own total
  expect(c.takeChanged()).toEqual([['cluster|10|k', later, 3]]);
  expect(c.takeChanged()).toEqual([]);
  // expired windows from others are ignored
  expect(c.applyRemote('n2', [['cluster|10|old', Date.now() - 1, 5]])).toEqual([]);
});

test('far from the limit a change waits; once a node used half its part of the headroom it is urgent', () => {
  c = new NodeCounters();
  c.setNodes(2);
  const seen: boolean[] = [];
  c.onChange((urgent) => seen.push(urgent));
  // limit 100, 2 nodes: after u unshared increments the headroom is 100 - u, this node's part
  // (100 - u) / 2, shared once u reaches half of it: at u = 20
  for (let i = 0; i < 19; i++) c.merge([['cluster|100|k', later, 1]]);
  expect(seen.every((u) => !u)).toBe(true);
  c.merge([['cluster|100|k', later, 1]]);
  expect(seen.at(-1)).toBe(true);
  c.takeChanged();
  // near the limit (headroom under 4 x nodes) every increment is urgent
  c.applyRemote('n2', [['cluster|100|k', later, 75]]);
  c.merge([['cluster|100|k', later, 1]]);
  expect(seen.at(-1)).toBe(true);
  // a key without a limit is never urgent
  c.merge([['cluster|nolimit', later, 1000]]);
  expect(seen.at(-1)).toBe(false);
});
