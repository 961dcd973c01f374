import type { Logger } from '../log.ts';
import { drainIo, loopWatch, sleep, type Awareness } from './awareness.ts';
import { probeRtt } from './metrics.ts';
import type { PingResult, ProbeTransport } from './probe.ts';
import { ProbeRtt } from './probe-rtt.ts';
import type { ProbeSet } from './probe-set.ts';
import type { MembershipSettings } from './settings.ts';
import type { Member, MemberTable } from './state.ts';

// The failure detector of SWIM with memberlist's refinements and Lifeguard's local health:
// every probe interval ONE member is pinged (shuffled round-robin); a missed ping asks
// `indirect_checks` others to try (ping-req); still nothing, the member is handed to the
// membership to be suspected. Also who this node's neighbours are on the probe rings, and
// closing the connections the ring topology does not need.

/** What the prober reads from and reports to the membership it works for. */
export interface ProberContext {
  table: MemberTable;
  awareness: Awareness;
  probeSet: ProbeSet;
  settings: MembershipSettings;
  log: Logger;
  /** Set by startCluster after the membership is built, hence read through a function. */
  transport(): ProbeTransport;
  /** The transport's open connections, so probing can close the ones the ring topology does not need. */
  connections?: { peers(olderThanMs: number): string[]; hangUp(peerId: string): void };
  running(): boolean;
  leaving(): boolean;
  /** Full-state exchange (Lifeguard's buddy system: a reachable suspect gets our table). */
  syncWith(peerId: string): Promise<boolean>;
  /** The member failed a direct and the indirect probes: suspect it and gossip that. */
  suspect(m: Member, refused: boolean): Promise<void>;
}

export type ProbeReason = 'round' | 'disconnect' | 'confirm';

/** Probe rounds between two passes of trimConnections. */
const TRIM_EVERY_ROUNDS = 20;

/** Probe attempts in a row that our own stalled event loop may void before a miss counts. */
const MAX_INCONCLUSIVE = 3;

export function shuffle<T>(a: T[]): T[] {
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [a[i], a[j]] = [a[j]!, a[i]!];
  }
  return a;
}

const probeable = (m: Member | undefined): m is Member => !!m && (m.status === 'alive' || m.status === 'suspect');

export class Prober {
  /** Members with a probe under way (never two at once for one member). */
  private probing = new Set<string>();
  /** Probes in a row voided by a stall of our own event loop, per member. */
  private inconclusive = new Map<string, number>();
  /** Since when direct probes of a member have been missing while it stayed reachable otherwise, per member. */
  private directMissingSince = new Map<string, number>();
  private probeOrder: string[] = [];
  private rounds = 0;
  private readonly rtt: ProbeRtt;

  constructor(private readonly c: ProberContext) {
    this.rtt = new ProbeRtt(c.settings.probe_timeout_ms, c.settings.probe_timeout_ms * c.settings.awareness_max_multiplier);
  }

  private liveIds(): string[] {
    return this.c.table.live().map((m) => m.id);
  }

  /**
   * How many times cluster_probe_timeout the members' answers take now (probe-rtt.ts): 1 on a
   * quiet cluster, up to cluster_awareness_max_multiplier on a saturated host.
   */
  slowness(): number {
    return this.rtt.stretch();
  }

  /** True when this node probes `id` or is probed by it (always, in an all-to-all cluster). */
  isNeighbour(id: string): boolean {
    return this.c.probeSet.isNeighbour(this.liveIds(), id);
  }

  randomNeighbour(): Member | undefined {
    const { table } = this.c;
    const n = this.c.probeSet.neighbours(this.liveIds());
    const ids = n.all ? table.live().map((m) => m.id).filter((id) => id !== table.selfId) : [...new Set([...n.subjects, ...n.observers])];
    const id = ids[Math.floor(Math.random() * ids.length)];
    return id ? table.get(id) : undefined;
  }

  async loop(): Promise<void> {
    while (this.c.running()) {
      const started = Date.now();
      const target = this.nextTarget();
      if (target && !this.c.leaving()) await this.probe(target, 'round');
      if (++this.rounds % TRIM_EVERY_ROUNDS === 0) this.trimConnections();
      const wait = this.interval() - (Date.now() - started);
      await sleep(Math.max(0, wait));
    }
  }

  /**
   * The time between two rounds: cluster_probe_interval stretched by Lifeguard's local health
   * (this node is slow) or by the members' answers all being slow (the host is saturated),
   * whichever is more.
   * On a saturated host every late answer risks a suspicion, and every suspicion is a broadcast
   * to every member plus a refutation: fifty nodes started at once on two cores kept each other
   * at ~12 refutations a second for minutes, the gossip itself keeping the host saturated.
   * Probing less often while everyone is slow is what lets that settle; on a quiet cluster the
   * stretch is 1 and nothing changes.
   */
  private interval(): number {
    const ms = this.c.settings.probe_interval_ms;
    return Math.max(this.c.awareness.scale(ms), ms * this.slowness());
  }

  private nextTarget(): Member | undefined {
    const { table } = this.c;
    for (let tries = 0; tries < 2; tries++) {
      while (this.probeOrder.length) {
        const m = table.get(this.probeOrder.shift()!);
        if (m && m.id !== table.selfId && probeable(m)) return m;
      }
      const n = this.c.probeSet.neighbours(this.liveIds());
      const candidates = n.all ? table.live().filter((m) => m.id !== table.selfId).map((m) => m.id) : [...n.subjects];
      this.probeOrder = shuffle(candidates);
    }
    return undefined;
  }

  /** A ping that gets a moment to deliver an ack already queued behind a late timer. */
  private async directPing(m: Member, timeoutMs: number): Promise<PingResult> {
    let settled: PingResult | undefined;
    const p = this.c.transport().ping(m.peer_id, timeoutMs + 1000).then((r) => {
      // Late answers too: they are what says the timeout is too short for this host now.
      if (r.ok) this.rtt.sample(r.rtt);
      return (settled = r);
    });
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<'timeout'>((r) => (timer = setTimeout(() => r('timeout'), timeoutMs)));
    const first = await Promise.race([p, timedOut]);
    clearTimeout(timer);
    if (first !== 'timeout') return first;
    await drainIo();
    return settled ?? { ok: false, refused: false, error: `no answer within ${timeoutMs} ms` };
  }

  /** One probe of `m`: direct ping, then ping-req through helpers, then suspicion. */
  async probe(m: Member, reason: ProbeReason): Promise<void> {
    if (this.probing.has(m.id)) return;
    this.probing.add(m.id);
    const releaseWatch = loopWatch.hold();
    try {
      // Slow answers from everyone (a saturated host) stretch it as much as our own slowness does.
      const timeout = Math.min(this.rtt.maxMs, this.c.awareness.scale(this.rtt.timeout()));
      const t0 = Date.now();
      // The verdict is about the member as it was when the probe began (memberlist suspects the
      // incarnation it probed).
      const probed = this.c.table.get(m.id)?.incarnation ?? m.incarnation;
      const direct = await this.directPing(m, timeout);
      const cur = this.c.table.get(m.id);
      if (!probeable(cur) || !this.c.running()) return;
      if (direct.ok) return this.answered(cur, direct.rtt);
      if (!direct.refused) this.directMissed(cur);
      // Indirect probes through other members (SWIM ping-req): a bad link is not a dead node.
      // A refused redial is no bad link: the member's host answered that nothing listens on
      // its port any more, which no helper could contradict, so it is suspected at once.
      const helpers = direct.refused ? [] : this.helpersFor(m.id);
      const { acks, nacks } = await this.indirectPing(cur, helpers, timeout);
      const after = this.c.table.get(m.id);
      if (!probeable(after) || !this.c.running()) return;
      if (acks > 0) {
        after.last_seen = Date.now();
        return;
      }
      // Lifeguard: helpers that did not even answer mean we may be the slow one.
      if (helpers.length && nacks < helpers.length) this.c.awareness.apply(1);
      if (!direct.refused && this.voidedByOwnStall(m, t0, timeout)) return;
      // It spoke for itself while we waited (a refutation, a new announcement): it is running,
      // only slow to answer us. Suspecting its new incarnation would make it refute again, and
      // on a saturated host, where a probe with its indirect round lasts seconds, that chain
      // was most of the suspicions (a member reached incarnation 47 in four minutes).
      if (after.incarnation !== probed) {
        this.c.log.debug({ member: m.name, probed, now: after.incarnation }, 'cluster: probe failed, but the member announced itself meanwhile; not suspecting');
        return;
      }
      this.inconclusive.delete(m.id);
      // Already suspect: our own failed probe still counts as one more independent confirmation.
      this.c.log.debug({ member: m.name, reason, error: direct.error, refused: direct.refused }, 'cluster: probe failed, suspecting');
      await this.c.suspect(after, direct.refused);
    } finally {
      this.probing.delete(m.id);
      releaseWatch();
    }
  }

  /**
   * The connection monitor's job for live members (connection-watch.ts): when direct probes of
   * this member have missed for three connection ping intervals (the longest ping timeout
   * libp2p's monitor allowed), whatever the indirect probes said, the connection is hung (a bad
   * link, a peer that was paused): close it so the next probe dials afresh.
   */
  private directMissed(m: Member): void {
    const now = Date.now();
    const since = this.directMissingSince.get(m.id);
    if (since === undefined) {
      this.directMissingSince.set(m.id, now);
      return;
    }
    if (now - since < 3 * this.c.settings.connection_ping_interval_ms) return;
    this.directMissingSince.delete(m.id);
    this.c.log.debug({ member: m.name, missing_ms: now - since }, 'cluster: direct probes keep missing; closing the connection');
    this.c.connections?.hangUp(m.peer_id);
  }

  private answered(cur: Member, rttMs: number): void {
    this.inconclusive.delete(cur.id);
    this.directMissingSince.delete(cur.id);
    probeRtt.observe(rttMs / 1000);
    cur.last_seen = Date.now();
    this.c.awareness.apply(-1);
    // Lifeguard's buddy system: a suspect we can reach may have missed the gossip that
    // accuses it; hand it our table so it refutes now rather than be failed.
    if (cur.status === 'suspect') void this.c.syncWith(cur.peer_id);
  }

  /** Asks every helper to ping `target`; settles at the first ack or when all have answered. */
  private async indirectPing(target: Member, helpers: Member[], timeout: number): Promise<{ acks: number; nacks: number }> {
    let acks = 0;
    let nacks = 0;
    if (helpers.length) {
      const wait = timeout * 2;
      const results = helpers.map((h) => this.c.transport().pingReq(h.peer_id, { peer_id: target.peer_id, addresses: target.addresses }, timeout, wait));
      await new Promise<void>((resolve) => {
        let left = results.length;
        for (const r of results)
          void r.then((v) => {
            if (v === 'ack') acks++;
            if (v === 'nack') nacks++;
            if (v === 'ack' || --left === 0) resolve();
          });
      });
    }
    return { acks, nacks };
  }

  /**
   * Our own event loop stalled longer than the timeout: the member never had a fair chance to
   * answer. Retry (a few times; a node that is always this late still has to detect failures,
   * with timeouts its awareness has stretched meanwhile).
   */
  private voidedByOwnStall(m: Member, t0: number, timeout: number): boolean {
    const lag = loopWatch.maxLagSince(t0);
    const skips = this.inconclusive.get(m.id) ?? 0;
    if (lag <= timeout || skips >= MAX_INCONCLUSIVE) return false;
    this.inconclusive.set(m.id, skips + 1);
    this.c.awareness.apply(1);
    this.c.log.debug({ member: m.name, lag_ms: Math.round(lag) }, 'cluster: probe inconclusive, local event loop stalled');
    return true;
  }

  /**
   * SWIM's ping-req helpers: the target's other observers first (they hold a connection to it
   * already and watch it anyway), then random alive members.
   */
  private helpersFor(targetId: string): Member[] {
    const { table, settings } = this.c;
    const ok = (x: Member | undefined): x is Member => !!x && x.status === 'alive' && x.id !== targetId && x.id !== table.selfId;
    const watchers = shuffle(this.c.probeSet.observersOf(targetId).map((id) => table.get(id)).filter(ok));
    const chosen = watchers.slice(0, settings.indirect_checks);
    if (chosen.length < settings.indirect_checks) {
      const rest = shuffle(table.live().filter((x) => ok(x) && !chosen.includes(x)));
      chosen.push(...rest.slice(0, settings.indirect_checks - chosen.length));
    }
    return chosen;
  }

  /**
   * Close connections to live members this node neither probes nor is probed by (opened for a
   * join, a push-pull or a ping-req): without it a large cluster drifts back to a full mesh.
   * Data planes are left alone: their connection to a control plane carries config sync.
   */
  private trimConnections(): void {
    const { connections: conns, table, settings } = this.c;
    if (!conns || table.get(table.selfId)!.role === 'data_plane') return;
    const live = this.liveIds();
    if (this.c.probeSet.neighbours(live).all) return;
    // Only above a budget of twice the neighbourhood, and only connections older than a
    // push-pull round: a ping-req or a push-pull with a non-neighbour is cheaper kept for a
    // while than closed and opened again, and views that do not agree yet would otherwise
    // close and re-open the same connections in a loop.
    const all = conns.peers(0);
    let excess = all.length - 4 * settings.probe_rings;
    if (excess <= 0) return;
    for (const peerId of conns.peers(settings.push_pull_interval_ms)) {
      if (excess <= 0) return;
      const m = table.byPeerId(peerId);
      if (!m || m.id === table.selfId || m.role === 'data_plane' || this.probing.has(m.id)) continue;
      if (probeable(m) && !this.c.probeSet.isNeighbour(live, m.id)) {
        conns.hangUp(peerId);
        excess--;
      }
    }
  }
}
