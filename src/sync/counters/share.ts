// Rate-limit counters shared across the cluster (policy = cluster) by gossip, without a
// database round trip per request. Each node publishes its own totals and caps of the keys it
// counted: at once when its cap changed (below), else at most once per `intervalMs` (an idle
// node sends nothing); every node adds the others' latest totals to its own
// (src/proxy/node-counters.ts).
// Totals, not increments, travel: a message lost or repeated is corrected by the next one.
//
// Caps, not hop speed, hold the limit (src/proxy/node-counters.ts, allotment.ts). Each node
// counts a key only up to its cap: parts it claimed of the headroom nobody it knows of holds
// (a live peer holds its cap, or its count if above; a gone one its count). N = live members.
// - First part: allotment(limit, N, place in the sorted ids) = floor(limit / N), plus one for
//   the first limit mod N places. The first parts are disjoint and sum to the limit, so nodes
//   that start a window together claim exactly the limit before they hear of each other.
//   While a key is fresh (IDLE_MS = 200 ms after the node's first news of it) a peer not heard
//   from is presumed to hold its first part, and a node claims nothing beyond its own.
// - Later parts: a node that used its cap splits F = limit - its cap - what the others hold
//   between itself and the peers that counted the key (silent ones are idle), by the same
//   allotment with ranks turned by one every SLOT_MS (100 ms): nodes that claim in one slot
//   from one view take exactly F together, and the remainder (F < N) goes round.
// A claim is published at once (coalesced per turn of the event loop); a count alone waits
// for the lazy round, since the others already hold this node's cap: at steady round-robin
// load, one message per node and window.
//
// Bound on overshoot. The sum of caps stays <= limit as long as every claim is made from a
// view that holds every earlier claim. What breaks that: a claim still unheard (one gossip
// hop; a lost message, until the node's next one, at most cluster_counters_interval later)
// while another node claims, which counts headroom twice, at most the smaller claim:
//   overshoot <= sum of the claims unheard by a node that claimed meanwhile,
// each at most a first part ceil(limit / N) at a window's start, or allotment(F, ...) later.
// So the limit is exact when a window's first requests and one hop fit in IDLE_MS and no
// claim message is lost; one lost costs at most that claim (test/proxy/node-counters.unit.test.ts
// has both on real counters). With hops beyond IDLE_MS each node may take its silent peers'
// parts: at worst N x limit, as with policy = local. Add the per-node worker bound of
// src/proxy/counters.ts: a node's workers pass its cap by what they admit before the
// primary's answer (one IPC round trip); a worker with no news of a key starts from its
// node's first part, so a burst there passes at most (workers - 1) x that part more.
//
// Under-admission (the limit not reached while requests come):
// - round-robin load: every node uses its parts; exactly the limit passes once each node has
//   been asked for its first part, or the rest goes round the ranks within N slots;
// - load on one node only: its first part at once, the rest once the key is no longer fresh
//   (IDLE_MS): with the peers silent it is the only active node and takes all of F;
// - load moving away from a node: it gives back what it holds unused once it has not been
//   asked for RELEASE_MS (1 s) while fewer than N requests are free for the others; asked
//   again, it refuses one request, and claims its turn with the next.
// The primary sees only what its workers admit: a worker that refuses a request for the
// node's cap (not the cluster's count) tells it, once a slot at most, so a node claims only
// while it is asked.
// A node cut off from every peer is the only live member: it claims the whole headroom it
// knows of and counts alone (said once in the log).

import type { Logger } from 'pino';
import type { CounterEntry, SharedCounters } from '../../proxy/node-counters.ts';

export const COUNTERS_TOPIC = 'gossamer/counters/1';

/** What the sharing needs of the cluster (src/cluster/cluster.ts Cluster has it). */
export interface CounterCluster {
  publish(topic: string, data: Uint8Array): Promise<void>;
  subscribe(topic: string, handler: (data: Uint8Array, from: { id: string; name: string }) => void): () => void;
  members(): { id: string; status: string; role?: string }[];
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
  // A node waiting for its turn publishes nothing: it still hears of a member gone or come.
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
    o.counters.applyRemote(from.id, entries.filter((e) => Array.isArray(e) && typeof e[0] === 'string' && typeof e[1] === 'number' && typeof e[2] === 'number' && (e[3] === undefined || typeof e[3] === 'number')));
  });

  return () => {
    if (timer) clearTimeout(timer);
    clearInterval(refresher);
    unsubscribe();
  };
}
