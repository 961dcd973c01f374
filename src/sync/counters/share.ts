// Rate-limit counters shared across the cluster (policy = cluster) by gossip, without a
// database round trip per request. Each node publishes its own totals and caps of the keys it
// counted: at once when its cap changed or was used up (below), else at most once per
// `intervalMs` (an idle node sends nothing); every node adds the others' latest totals to its
// own (src/proxy/node-counters.ts).
// Totals, not increments, travel: a message lost or repeated is corrected by the next one.
//
// Caps, not hop speed, hold the limit (src/proxy/node-counters.ts, allotment.ts). Each node
// counts a key only up to its cap. N = the live proxying members, in sorted id order.
// - A node's cap starts at its first part, allotment(limit, N, its place) = floor(limit / N),
//   plus one for the first limit mod N places. Every node knows every node's first part
//   without a message; they are disjoint and sum to the limit, so at any load spread the
//   nodes count up to exactly the limit without hearing of each other, and a limit never
//   reached costs no message beyond the lazy counts.
// - A node that used its cap up and is asked for more (a worker refused a request for it)
//   says so at once. A peer that holds a part it has not been asked for (never, or not within
//   RELEASE_MS = 1 s) gives it back at once (cap = count).
// - A node that used its cap and is asked for more claims a share of the free headroom
//   F = limit - its cap - what the others hold (a live peer: its cap, or count if above, once
//   heard, else its first part; a gone member: its count): its allotment(F, N, rank), ranks
//   turned by one every SLOT_MS (100 ms). Nodes that claim in one slot take at most F
//   together even when they do not know of each other's claims; the shares of the nodes not
//   claiming stay free for the next claim (a node with all the traffic takes F in a few
//   claims), and the remainder (F < N) goes round. A claim is said at once.
// A message is a JSON list of [key, window end, total, cap, 1 if it wants more], coalesced
// per turn of the event loop; counts alone wait for the lazy round (the others already hold
// this node's cap). Round-robin load at 5x a limit: one message per node and window (its part
// used up); all traffic on one node: a give-back per other node and a few claims per window.
//
// Bound on overshoot. The caps sum to at most the limit as long as every claim is made from a
// view that holds every earlier claim and give-back, whatever the request rate and hop time.
// What breaks that: a claim unheard (in flight, or lost until the node's next message, at most
// cluster_counters_interval later) while another node claims from the same free headroom:
//   overshoot <= the sum of the claims some other node claimed without knowing of,
// each at most ceil(F / N) of the F of its moment (a first part is never claimed by another:
// it must be given back first), and a node claims again only after using its whole share.
// With no claim lost, claims further apart than a hop never race. Traffic moving between
// random nodes every 300 ms (seeded, test/proxy/node-counters.unit.test.ts): exact with hops
// under the request gap, within N - 1 with hops of 3 x the gap (8 x: within 3, explored).
// Members must agree on who is live: a node that does not see a peer yet (it just joined, or
// came back) counts with larger first parts until it does, by at most the difference (the
// split follows membership events at once). Add the per-node worker bound of
// src/proxy/counters.ts: a node's workers pass its cap by what they admit before the
// primary's answer (one IPC round trip); a worker with no news of a key starts from its
// node's first part, so a burst there passes at most (workers - 1) x that part more.
//
// Under-admission (the limit not reached while requests come):
// - round-robin load: none once every node used its first part; if one stays unused (no
//   traffic at that node), it is given back when another node says it used its own up;
// - load on one node only: its first part at once, then (once the idle nodes gave theirs
//   back, one round trip) ceil(F / N) per claim, each as soon as the last is used, and the
//   last F < N requests within N slots;
// - a node that gave its part back and is asked again refuses one request (the worker tells
//   the primary, which claims); the last F < N requests go round the ranks, N slots at most;
// - load moving away from a node: it gives back what it holds unused 1 s after its last
//   request, once another node says it used its part up.
// The primary sees only what its workers admit: a worker that refuses a request for the
// node's cap (not the cluster's count) tells it, once a slot at most.
// A node cut off from every peer is the only live member: its first part is the limit, and
// peers gone hold only their counts: it counts alone (said once in the log).

import type { Logger } from 'pino';
import type { CounterEntry, SharedCounters } from '../../proxy/node-counters.ts';

export const COUNTERS_TOPIC = 'gossamer/counters/1';

type MemberEvent = 'member-joined' | 'member-failed' | 'member-left' | 'member-updated' | 'member-forgotten';
const MEMBER_EVENTS: MemberEvent[] = ['member-joined', 'member-failed', 'member-left', 'member-updated', 'member-forgotten'];

/** What the sharing needs of the cluster (src/cluster/cluster.ts Cluster has it). */
export interface CounterCluster {
  publish(topic: string, data: Uint8Array): Promise<void>;
  subscribe(topic: string, handler: (data: Uint8Array, from: { id: string; name: string }) => void): () => void;
  members(): { id: string; status: string; role?: string }[];
  /** Membership events (Cluster has them): the split follows a member come or gone at once. */
  on?(event: MemberEvent, listener: () => void): unknown;
  off?(event: MemberEvent, listener: () => void): unknown;
  readonly nodeId: string;
}

export interface ShareOptions {
  /** The node's proxy counters; null on a control plane, which only relays. */
  counters: SharedCounters | null;
  cluster: CounterCluster;
  intervalMs: number;
  log: Logger;
}

export function shareCounters(o: ShareOptions): () => void {
  const { cluster, log } = o;
  let timer: NodeJS.Timeout | null = null;
  let soon = false;
  let alone = false;
  /** The live members that proxy (a control plane does not), this node's included; the headroom is split between them. */
  const live = (): string[] =>
    cluster.members().filter((m) => m.id === cluster.nodeId || ((m.status === 'alive' || m.status === 'suspect') && m.role !== 'control_plane')).map((m) => m.id);
  let refreshedAt = 0;
  const refreshMembers = (): number => {
    refreshedAt = Date.now();
    const ids = live();
    o.counters?.setMembers(cluster.nodeId, ids);
    return ids.filter((id) => id !== cluster.nodeId).length;
  };

  const publish = (): void => {
    if (timer) clearTimeout(timer);
    timer = null;
    soon = false;
    const entries = o.counters?.takeChanged() ?? [];
    if (!entries.length) return;
    const alive = refreshMembers();
    // Cut off from every peer, the node keeps counting its own requests: said once per outage.
    const nowAlone = alive === 0;
    if (nowAlone && !alone) log.warn('rate limiting: no other cluster member reachable; policy cluster counts on this node alone until one is');
    if (!nowAlone && alone) log.info('rate limiting: cluster members reachable again; policy cluster counts cluster-wide');
    alone = nowAlone;
    cluster.publish(COUNTERS_TOPIC, new TextEncoder().encode(JSON.stringify(entries))).catch((err: Error) => {
      log.debug({ err: err.message }, 'rate limiting: counters not published');
    });
  };

  o.counters?.onChange((urgent) => {
    if (urgent) {
      // Once per turn of the event loop: the workers' reports of this turn go in one message.
      if (!soon) {
        soon = true;
        setImmediate(publish);
      }
    } else timer ??= setTimeout(publish, o.intervalMs);
  });
  refreshMembers();
  // The first parts depend on who is live: every node must see a member come or go at once.
  const onMembers = (): void => void refreshMembers();
  for (const e of MEMBER_EVENTS) cluster.on?.(e, onMembers);
  const refresher = setInterval(refreshMembers, 1000);
  refresher.unref();

  const unsubscribe = cluster.subscribe(COUNTERS_TOPIC, (data, from) => {
    if (!o.counters) return;
    let entries: CounterEntry[];
    try {
      entries = JSON.parse(new TextDecoder().decode(data)) as CounterEntry[];
      if (!Array.isArray(entries)) throw new Error('not a list');
    } catch (err) {
      log.warn({ from: from.name, err: (err as Error).message }, 'rate limiting: counters message refused');
      return;
    }
    // A member gone or come changes the split: checked at most every 100 ms, not per message.
    if (Date.now() - refreshedAt >= 100) refreshMembers();
    o.counters.applyRemote(from.id, entries.filter((e) => Array.isArray(e) && typeof e[0] === 'string' && typeof e[1] === 'number' && typeof e[2] === 'number' && (e[3] === undefined || typeof e[3] === 'number') && (e[4] === undefined || e[4] === 1)));
  });

  return () => {
    if (timer) clearTimeout(timer);
    clearInterval(refresher);
    for (const e of MEMBER_EVENTS) cluster.off?.(e, onMembers);
    unsubscribe();
  };
}
