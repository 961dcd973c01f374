import { EventEmitter } from 'node:events';
import type { Logger } from '../log.ts';
import { Awareness, drainIo, loopWatch } from './awareness.ts';
import type { GossipMessage, PushPull } from './messages.ts';
import { isMemberInfo, isWireMember } from './messages.ts';
import { falseSuspicionsTotal, probeRtt, registerMemberSource, suspicionsTotal } from './metrics.ts';
import type { PingResult, ProbeTransport } from './probe.ts';
import { ProbeSet } from './probe-set.ts';
import type { MembershipSettings } from './settings.ts';
import { infoOf, MemberTable, toView, toWire, type Change, type Member, type MemberInfo, type MemberView } from './state.ts';
import { expectedConfirmations, Suspicion, suspicionMinTimeout } from './suspicion.ts';

// SWIM with memberlist's refinements and Lifeguard's local health: every probe interval ONE
// member is pinged (shuffled round-robin); a missed ping asks `indirect_checks` others to try;
// still nothing, the member is suspected and the suspicion gossiped; the suspect refutes with
// a higher incarnation, or the suspicion times out (shortened by independent confirmations)
// into failed. Changes travel on gossipsub; a periodic push-pull repairs what gossip missed.

export class MembershipError extends Error {
  constructor(
    message: string,
    readonly status: 404 | 409,
  ) {
    super(message);
  }
}

export interface MembershipEvents {
  'member-joined': [MemberView];
  'member-failed': [MemberView];
  'member-left': [MemberView];
  'member-updated': [MemberView, { previous_status: string; previous_config_version: number }];
  /** Removed by DELETE /cluster/members/{id} (here or on another member). */
  'member-forgotten': [MemberView];
}

export interface MembershipDeps {
  self: MemberInfo;
  settings: MembershipSettings;
  publish(msg: GossipMessage): Promise<void>;
  /** Teach the transport a member's addresses (libp2p peer store). */
  learnAddresses(m: Member): void;
  /** The transport's open connections, so probing can close the ones the ring topology does not need. */
  connections?: { peers(olderThanMs: number): string[]; hangUp(peerId: string): void };
  logger: Logger;
}

function shuffle<T>(a: T[]): T[] {
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [a[i], a[j]] = [a[j]!, a[i]!];
  }
  return a;
}

/** Probe rounds between two passes of trimConnections. */
const TRIM_EVERY_ROUNDS = 20;

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms).unref?.());

export class Membership extends EventEmitter<MembershipEvents> {
  readonly table: MemberTable;
  readonly awareness: Awareness;
  transport!: ProbeTransport;
  private suspicions = new Map<string, Suspicion>();
  private probing = new Set<string>();
  private inconclusive = new Map<string, number>();
  private probeOrder: string[] = [];
  private readonly probeSet: ProbeSet;
  private rounds = 0;
  private running = false;
  private leaving = false;
  private timers: NodeJS.Timeout[] = [];
  private unregisterMetrics: () => void = () => {};
  private readonly s: MembershipSettings;
  private readonly log: Logger;
  /** Gossip messages published / received (bench: per-node message rate). */
  readonly counters = { published: 0, received: 0, syncs: 0, sync_failures: 0 };

  constructor(private readonly deps: MembershipDeps) {
    super();
    this.s = deps.settings;
    this.log = deps.logger;
    this.table = new MemberTable(deps.self.id);
    this.table.setSelf(deps.self, Date.now());
    this.awareness = new Awareness(this.s.awareness_max_multiplier);
    this.probeSet = new ProbeSet(deps.self.id, this.s.probe_rings);
  }

  private liveIds(): string[] {
    return this.table.live().map((m) => m.id);
  }

  /** True when this node probes `id` or is probed by it (always, in an all-to-all cluster). */
  isNeighbour(id: string): boolean {
    return this.probeSet.isNeighbour(this.liveIds(), id);
  }

  get self(): Member {
    return this.table.get(this.table.selfId)!;
  }

  start(): void {
    this.running = true;
    loopWatch.acquire();
    this.unregisterMetrics = registerMemberSource(() => this.table.all().map((m) => m.status));
    void this.probeLoop();
    void this.pushPullLoop();
    const reap = setInterval(() => this.reap(), this.s.reap_interval_ms);
    reap.unref();
    this.timers.push(reap);
    void this.publish({ t: 'alive', m: infoOf(this.self) });
  }

  /** Gossip our own record (after joining: the first announcement at start had nobody to reach). */
  announce(): void {
    if (!this.running || this.leaving) return;
    void this.publish({ t: 'alive', m: infoOf(this.self) });
    // Members that joined alongside us were relayed while gossipsub did not yet know our
    // subscription; two early full-state exchanges catch up instead of the next push-pull.
    for (const delay of [1000, 3000]) {
      const t = setTimeout(() => {
        const peer = this.randomNeighbour();
        if (peer && this.running && !this.leaving) void this.syncWith(peer.peer_id);
      }, delay);
      t.unref();
      this.timers.push(t);
    }
  }

  /** Graceful: announce `left` (higher incarnation, so it beats any suspicion) and stop probing. */
  async leave(): Promise<void> {
    if (this.leaving) return;
    this.leaving = true;
    const me = this.self;
    me.incarnation++;
    me.status = 'left';
    await this.publish({ t: 'left', m: infoOf(me) });
  }

  stop(): void {
    if (!this.running) return;
    this.running = false;
    for (const t of this.timers) clearTimeout(t);
    if (this.catchUpTimer) clearTimeout(this.catchUpTimer);
    for (const s of this.suspicions.values()) s.cancel();
    this.suspicions.clear();
    this.unregisterMetrics();
    loopWatch.release();
  }

  views(): MemberView[] {
    const now = Date.now();
    return this.table.all().map((m) => toView(m, this.table.selfId, now)).sort((a, b) => a.name.localeCompare(b.name));
  }

  view(ref: string): MemberView | undefined {
    const m = this.table.find(ref);
    return m ? toView(m, this.table.selfId, Date.now()) : undefined;
  }

  setLocalState(state: { config_version?: number; config_hash?: string | null }): void {
    const me = this.self;
    const cv = state.config_version ?? me.config_version;
    const ch = state.config_hash === undefined ? me.config_hash : state.config_hash;
    if (cv === me.config_version && ch === me.config_hash) return;
    me.config_version = cv;
    me.config_hash = ch;
    me.incarnation++;
    void this.publish({ t: 'alive', m: infoOf(me) });
  }

  forceLeave(ref: string): MemberView {
    const m = this.table.find(ref);
    if (!m) throw new MembershipError('Not found', 404);
    if (m.id === this.table.selfId) throw new MembershipError(`member '${m.name}' is this node; stop it instead`, 409);
    if (m.status === 'alive' || m.status === 'suspect') {
      throw new MembershipError(`member '${m.name}' is ${m.status}; only failed or left members can be removed`, 409);
    }
    const view = toView(m, this.table.selfId, Date.now());
    this.forget(m.id, m.incarnation);
    void this.publish({ t: 'forget', id: m.id, inc: m.incarnation, from: this.table.selfId });
    return view;
  }

  // ---------- inputs ----------

  /** A gossip message already checked for shape and signer by the cluster's topic validator. */
  handleGossip(msg: GossipMessage): void {
    this.counters.received++;
    if (!this.running) return;
    switch (msg.t) {
      case 'alive':
        return this.applyAlive(msg.m, true);
      case 'left':
        return this.applyLeft(msg.m);
      case 'suspect':
        return this.applySuspect(msg.id, msg.inc, msg.from, false);
      case 'failed':
        return this.applyFailed(msg.id, msg.inc);
      case 'forget':
        return this.forget(msg.id, msg.inc);
    }
  }

  /** The responder side of push-pull; null rejects a malformed request. */
  handlePushPull(msg: PushPull, fromPeer: string): PushPull | null {
    if (!msg || typeof msg.from !== 'string' || !Array.isArray(msg.members)) return null;
    const sender = msg.members.find((m) => isWireMember(m) && m.id === msg.from);
    if (!sender || sender.peer_id !== fromPeer) return null;
    const reply = this.stateMessage(false);
    if (this.running && this.merge(msg.members, msg.from, msg.join) > 0) this.catchUpSoon();
    return reply;
  }

  /** Sync with a peer we just connected to (a join): push our table, merge theirs. */
  async syncWith(peerId: string): Promise<boolean> {
    try {
      const before = this.self.incarnation;
      const reply = await this.transport.pushPull(peerId, this.stateMessage(true), this.s.dial_timeout_ms);
      if (!Array.isArray(reply?.members)) return false;
      const sender = reply.members.find((m) => isWireMember(m) && m.id === reply.from);
      if (!sender || sender.peer_id !== peerId) return false;
      // Gossip missed a member (usually one that joined while we did): ask another neighbour
      // soon, until an exchange teaches nothing new, instead of waiting for the next round.
      if (this.merge(reply.members, reply.from) > 0) this.catchUpSoon();
      this.counters.syncs++;
      // We refuted a stale view of ourselves: tell this peer directly, not only by gossip.
      if (this.self.incarnation !== before) await this.transport.pushPull(peerId, this.stateMessage(true), this.s.dial_timeout_ms).catch(() => {});
      return true;
    } catch (err) {
      this.counters.sync_failures++;
      this.log.debug({ peer: peerId, err: (err as Error).message }, 'cluster: push-pull failed');
      return false;
    }
  }

  /** All connections to a member closed: probe it now (a killed process refuses the redial). */
  onDisconnect(peerId: string): void {
    if (!this.running || this.leaving) return;
    const m = this.table.byPeerId(peerId);
    if (!m || m.id === this.table.selfId || (m.status !== 'alive' && m.status !== 'suspect')) return;
    // A connection closed by a trim (ours or theirs) is not news; one to a neighbour is.
    if (!this.isNeighbour(m.id)) return;
    void this.probeNode(m, 'disconnect');
  }

  // ---------- probing ----------

  private async probeLoop(): Promise<void> {
    while (this.running) {
      const started = Date.now();
      const target = this.nextProbeTarget();
      if (target && !this.leaving) await this.probeNode(target, 'round');
      if (++this.rounds % TRIM_EVERY_ROUNDS === 0) this.trimConnections();
      const wait = this.awareness.scale(this.s.probe_interval_ms) - (Date.now() - started);
      await sleep(Math.max(0, wait));
    }
  }

  private nextProbeTarget(): Member | undefined {
    for (let tries = 0; tries < 2; tries++) {
      while (this.probeOrder.length) {
        const m = this.table.get(this.probeOrder.shift()!);
        if (m && m.id !== this.table.selfId && (m.status === 'alive' || m.status === 'suspect')) return m;
      }
      const n = this.probeSet.neighbours(this.liveIds());
      const candidates = n.all ? this.table.live().filter((m) => m.id !== this.table.selfId).map((m) => m.id) : [...n.subjects];
      this.probeOrder = shuffle(candidates);
    }
    return undefined;
  }

  /** A ping that gets a moment to deliver an ack already queued behind a late timer. */
  private async directPing(m: Member, timeoutMs: number): Promise<PingResult> {
    let settled: PingResult | undefined;
    const p = this.transport.ping(m.peer_id, timeoutMs + 1000).then((r) => (settled = r));
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<'timeout'>((r) => (timer = setTimeout(() => r('timeout'), timeoutMs)));
    const first = await Promise.race([p, timedOut]);
    clearTimeout(timer);
    if (first !== 'timeout') return first;
    await drainIo();
    return settled ?? { ok: false, refused: false, error: `no answer within ${timeoutMs} ms` };
  }

  private async probeNode(m: Member, reason: 'round' | 'disconnect' | 'confirm'): Promise<void> {
    if (this.probing.has(m.id)) return;
    this.probing.add(m.id);
    try {
      const timeout = this.awareness.scale(this.s.probe_timeout_ms);
      const t0 = Date.now();
      const direct = await this.directPing(m, timeout);
      const cur = this.table.get(m.id);
      if (!cur || !this.running || (cur.status !== 'alive' && cur.status !== 'suspect')) return;
      if (direct.ok) {
        this.inconclusive.delete(m.id);
        probeRtt.observe(direct.rtt / 1000);
        cur.last_seen = Date.now();
        this.awareness.apply(-1);
        // Lifeguard's buddy system: a suspect we can reach may have missed the gossip that
        // accuses it; hand it our table so it refutes now rather than be failed.
        if (cur.status === 'suspect') void this.syncWith(cur.peer_id);
        return;
      }
      // Indirect probes through other members (SWIM ping-req): a bad link is not a dead node.
      // A refused redial is no bad link: the member's host answered that nothing listens on
      // its port any more, which no helper could contradict, so it is suspected at once.
      const helpers = direct.refused ? [] : this.helpersFor(m.id);
      let acks = 0;
      let nacks = 0;
      if (helpers.length) {
        const wait = timeout * 2;
        const results = helpers.map((h) => this.transport.pingReq(h.peer_id, { peer_id: cur.peer_id, addresses: cur.addresses }, timeout, wait));
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
      const now = Date.now();
      const after = this.table.get(m.id);
      if (!after || !this.running || (after.status !== 'alive' && after.status !== 'suspect')) return;
      if (acks > 0) {
        after.last_seen = now;
        return;
      }
      // Lifeguard: helpers that did not even answer mean we may be the slow one.
      if (helpers.length && nacks < helpers.length) this.awareness.apply(1);
      // Our own event loop stalled longer than the timeout: the member never had a fair
      // chance to answer. Retry (a few times; a node that is always this late still has to
      // detect failures, with timeouts its awareness has stretched meanwhile).
      const lag = loopWatch.maxLagSince(t0);
      const skips = this.inconclusive.get(m.id) ?? 0;
      if (!direct.refused && lag > timeout && skips < 3) {
        this.inconclusive.set(m.id, skips + 1);
        this.awareness.apply(1);
        this.log.debug({ member: m.name, lag_ms: Math.round(lag) }, 'cluster: probe inconclusive, local event loop stalled');
        return;
      }
      this.inconclusive.delete(m.id);
      // Already suspect: our own failed probe still counts as one more independent confirmation.
      this.log.debug({ member: m.name, reason, error: direct.ok ? undefined : direct.error, refused: direct.refused }, 'cluster: probe failed, suspecting');
      const msg: GossipMessage = { t: 'suspect', id: after.id, inc: after.incarnation, from: this.table.selfId };
      this.applySuspect(after.id, after.incarnation, this.table.selfId, direct.refused);
      await this.publish(msg);
    } finally {
      this.probing.delete(m.id);
    }
  }

  // ---------- state changes ----------

  /**
   * SWIM's ping-req helpers: the target's other observers first (they hold a connection to it
   * already and watch it anyway), then random alive members.
   */
  private helpersFor(targetId: string): Member[] {
    const ok = (x: Member | undefined): x is Member => !!x && x.status === 'alive' && x.id !== targetId && x.id !== this.table.selfId;
    const watchers = shuffle(this.probeSet.observersOf(targetId).map((id) => this.table.get(id)).filter(ok));
    const chosen = watchers.slice(0, this.s.indirect_checks);
    if (chosen.length < this.s.indirect_checks) {
      const rest = shuffle(this.table.live().filter((x) => ok(x) && !chosen.includes(x)));
      chosen.push(...rest.slice(0, this.s.indirect_checks - chosen.length));
    }
    return chosen;
  }

  private randomNeighbour(): Member | undefined {
    const n = this.probeSet.neighbours(this.liveIds());
    const ids = n.all ? this.table.live().map((m) => m.id).filter((id) => id !== this.table.selfId) : [...new Set([...n.subjects, ...n.observers])];
    const id = ids[Math.floor(Math.random() * ids.length)];
    return id ? this.table.get(id) : undefined;
  }

  /**
   * Close connections to live members this node neither probes nor is probed by (opened for a
   * join, a push-pull or a ping-req): without it a large cluster drifts back to a full mesh.
   * Data planes are left alone: their connection to a control plane carries config sync.
   */
  private trimConnections(): void {
    const conns = this.deps.connections;
    if (!conns || this.self.role === 'data_plane') return;
    const live = this.liveIds();
    if (this.probeSet.neighbours(live).all) return;
    // Only above a budget of twice the neighbourhood, and only connections older than a
    // push-pull round: a ping-req or a push-pull with a non-neighbour is cheaper kept for a
    // while than closed and opened again, and views that do not agree yet would otherwise
    // close and re-open the same connections in a loop.
    const all = conns.peers(0);
    let excess = all.length - 4 * this.s.probe_rings;
    if (excess <= 0) return;
    for (const peerId of conns.peers(this.s.push_pull_interval_ms)) {
      if (excess <= 0) return;
      const m = this.table.byPeerId(peerId);
      if (!m || m.id === this.table.selfId || m.role === 'data_plane' || this.probing.has(m.id)) continue;
      if ((m.status === 'alive' || m.status === 'suspect') && !this.probeSet.isNeighbour(live, m.id)) {
        conns.hangUp(peerId);
        excess--;
      }
    }
  }

  private applyAlive(info: MemberInfo, direct: boolean): void {
    this.applyAliveChange(info, direct);
  }

  private applyAliveChange(info: MemberInfo, direct: boolean): Change | null {
    if (!isMemberInfo(info)) return null;
    if (info.id === this.table.selfId) {
      const me = this.self;
      if (info.peer_id !== me.peer_id) {
        this.log.warn({ node_id: info.id, peer_id: info.peer_id }, 'cluster: another node announces this node id (copied prefix?); ignoring it');
        return null;
      }
      if (info.incarnation > me.incarnation) this.refute(info.incarnation);
      return null;
    }
    const change = this.table.alive(info, Date.now(), direct);
    if (change) this.onChange(change);
    return change;
  }

  private applyLeft(info: MemberInfo): void {
    if (!isMemberInfo(info) || info.id === this.table.selfId) return;
    const change = this.table.left(info, Date.now());
    if (change) this.onChange(change);
  }

  private applySuspect(id: string, inc: number, from: string, strong: boolean): void {
    if (id === this.table.selfId) {
      if (inc >= this.self.incarnation) this.refute(inc);
      return;
    }
    const cur = this.table.get(id);
    if (!cur) return;
    if (cur.status === 'suspect' && inc === cur.incarnation) {
      const s = this.suspicions.get(id);
      s?.confirm(from);
      if (strong) s?.strengthen();
      return;
    }
    const change = this.table.suspect(id, inc, Date.now());
    if (!change) return;
    const n = this.table.live().length;
    const k = expectedConfirmations(this.s.suspicion_mult, n);
    // Lifeguard: a node in poor local health (stalls, missed nacks, its own suspicions refuted)
    // gives suspects longer; a refused redial needs no such patience.
    const health = strong ? 1 : 1 + this.awareness.health / 2;
    const min = suspicionMinTimeout(this.s.suspicion_mult, n, this.s.probe_interval_ms) * health;
    const max = this.s.suspicion_max_timeout_mult * min;
    this.suspicions.get(id)?.cancel();
    const s = new Suspicion(inc, from, k, min, max, () => void this.suspicionExpired(id, inc, min), strong);
    this.suspicions.set(id, s);
    suspicionsTotal.inc();
    this.onChange(change);
    // Someone else suspects it: check for ourselves now, so an independent confirmation (or a
    // refutation by our successful ping... which only gossip from the member itself can do) comes fast.
    // Only its ring neighbours: a hundred members dialling one suspect would be a storm.
    if (from !== this.table.selfId && this.isNeighbour(id)) void this.probeNode(cur, 'confirm');
  }

  private extended = new Set<string>();

  private async suspicionExpired(id: string, inc: number, minMs: number): Promise<void> {
    // A refutation may be waiting in a socket buffer behind this timer.
    await drainIo();
    const cur = this.table.get(id);
    if (!this.running || !cur || cur.status !== 'suspect' || cur.incarnation !== inc) return;
    const lag = loopWatch.maxLagSince(Date.now() - minMs);
    const s = this.suspicions.get(id);
    if (lag > minMs / 4 && s && !s.strongEvidence && !this.extended.has(`${id}/${inc}`)) {
      // We were not running for part of the timeout: give the suspect that time back, once.
      this.extended.add(`${id}/${inc}`);
      s.extend(Math.ceil(lag));
      return;
    }
    this.extended.delete(`${id}/${inc}`);
    this.applyFailed(id, inc);
    await this.publish({ t: 'failed', id, inc, from: this.table.selfId });
  }

  private applyFailed(id: string, inc: number): void {
    if (id === this.table.selfId) {
      if (inc >= this.self.incarnation) this.refute(inc);
      return;
    }
    const change = this.table.failed(id, inc, Date.now());
    if (change) this.onChange(change);
  }

  private forget(id: string, inc: number): void {
    const m = this.table.get(id);
    if (!m || id === this.table.selfId || m.incarnation > inc || m.status === 'alive' || m.status === 'suspect') return;
    this.suspicions.get(id)?.cancel();
    this.suspicions.delete(id);
    this.table.remove(id);
    this.tombstones.set(id, { inc, at: Date.now() });
    this.emit('member-forgotten', toView(m, this.table.selfId, Date.now()));
  }

  /**
   * Forced-out members, so a push-pull from a member that missed the `forget` does not bring
   * the record back. Only second-hand records are refused: the member's own word (it
   * restarted) is accepted, and tombstones go with the reaper's clock.
   */
  private tombstones = new Map<string, { inc: number; at: number }>();

  private buried(w: { id: string; incarnation: number }, from: string): boolean {
    const t = this.tombstones.get(w.id);
    return !!t && w.id !== from && w.incarnation <= t.inc;
  }

  private refute(inc: number): void {
    if (this.leaving) return;
    const me = this.self;
    me.incarnation = Math.max(me.incarnation, inc) + 1;
    me.status = 'alive';
    this.awareness.apply(1);
    this.log.info({ incarnation: me.incarnation }, 'cluster: refuting a suspicion of this node');
    void this.publish({ t: 'alive', m: infoOf(me) });
  }

  private onChange(c: Change): void {
    const view = toView(c.member, this.table.selfId, Date.now());
    // We accused a member that was alive: we are probing too aggressively for our own state.
    if (c.kind === 'refuted' && this.suspicions.get(c.member.id)?.accusedBy(this.table.selfId)) this.awareness.apply(1);
    if (c.kind !== 'suspect') {
      this.suspicions.get(c.member.id)?.cancel();
      this.suspicions.delete(c.member.id);
    }
    switch (c.kind) {
      case 'joined':
      case 'rejoined':
        this.deps.learnAddresses(c.member);
        this.log.info({ member: c.member.name, address: c.member.address, incarnation: c.member.incarnation }, c.kind === 'joined' ? 'cluster: member joined' : 'cluster: member rejoined');
        this.emit('member-joined', view);
        return;
      case 'failed':
        this.log.warn({ member: c.member.name, address: c.member.address }, 'cluster: member failed');
        this.emit('member-failed', view);
        return;
      case 'left':
        this.log.info({ member: c.member.name }, 'cluster: member left');
        this.emit('member-left', view);
        return;
      case 'suspect':
        this.log.info({ member: c.member.name }, 'cluster: member suspected');
        this.emit('member-updated', view, { previous_status: 'alive', previous_config_version: c.member.config_version });
        return;
      case 'refuted':
        falseSuspicionsTotal.inc();
        this.log.info({ member: c.member.name, incarnation: c.member.incarnation }, 'cluster: suspicion refuted');
        this.emit('member-updated', view, { previous_status: 'suspect', previous_config_version: c.member.config_version });
        return;
      case 'updated':
        if (c.previous.addresses.join() !== c.member.addresses.join()) this.deps.learnAddresses(c.member);
        this.emit('member-updated', view, { previous_status: c.previous.status, previous_config_version: c.previous.config_version });
        return;
    }
  }

  // ---------- push-pull ----------

  private stateMessage(join: boolean): PushPull {
    return { from: this.table.selfId, join, members: this.table.all().map(toWire) };
  }

  private catchUpTimer: NodeJS.Timeout | null = null;

  private catchUpSoon(): void {
    if (this.catchUpTimer || !this.running || this.leaving) return;
    this.catchUpTimer = setTimeout(() => {
      this.catchUpTimer = null;
      const peer = this.randomNeighbour();
      if (peer && this.running && !this.leaving) void this.syncWith(peer.peer_id);
    }, this.s.catch_up_interval_ms);
    this.catchUpTimer.unref();
  }

  /**
   * `relayJoiner`: the sender is joining through us; announce it once on its behalf.
   * Returns how many members we learned of from someone other than themselves.
   */
  private merge(members: unknown[], from: string, relayJoiner = false): number {
    let learned = 0;
    for (const w of members) {
      if (!isWireMember(w)) continue;
      if (this.buried(w, from)) continue;
      if (w.id === this.table.selfId) {
        if (w.status !== 'alive' ? w.incarnation >= this.self.incarnation : w.incarnation > this.self.incarnation) this.refute(w.incarnation);
        continue;
      }
      switch (w.status) {
        case 'alive': {
          const change = this.applyAliveChange(infoOf(w), w.id === from);
          if (change?.kind === 'joined' && w.id !== from) learned++;
          // A joiner's own announcement may have reached nobody yet (gossipsub had not learned
          // its subscription), so the member it joined through announces it. Only the joiner:
          // re-announcing every member learned from a table made n joins cost n^2 broadcasts.
          if (relayJoiner && w.id === from && change && (change.kind === 'joined' || change.kind === 'rejoined')) void this.publish({ t: 'alive', m: infoOf(change.member) });
          break;
        }
        case 'left':
          this.applyLeft(infoOf(w));
          break;
        case 'suspect':
        case 'failed': {
          const cur = this.table.get(w.id);
          if (!cur) {
            // Learn it, then take the sender's word as a suspicion (memberlist prefers suspicion to death here).
            const c = this.table.alive(infoOf(w), Date.now(), false);
            if (c) this.onChange(c);
          }
          this.applySuspect(w.id, w.incarnation, from, false);
          break;
        }
      }
    }
    return learned;
  }

  private async pushPullLoop(): Promise<void> {
    while (this.running) {
      const n = this.table.live().length;
      // memberlist's pushPullScale: above 32 members the interval grows with log2(n).
      const scale = n <= 32 ? 1 : Math.ceil(Math.log2(n) - Math.log2(32)) + 1;
      await sleep(this.s.push_pull_interval_ms * scale * (0.75 + Math.random() * 0.5));
      if (!this.running || this.leaving) return;
      // Anti-entropy with a neighbour: on the rings' expander graph a difference still spreads
      // everywhere, and no connection is opened just for it.
      const peer = this.randomNeighbour();
      if (peer) await this.syncWith(peer.peer_id);
      // serf's reconnect: now and then try a failed member; one that was only cut off (a
      // healed partition, a long pause) learns it was failed and refutes.
      const failed = this.table.others().filter((m) => m.status === 'failed');
      if (failed.length && Math.random() < 0.5) await this.syncWith(failed[Math.floor(Math.random() * failed.length)]!.peer_id);
    }
  }

  private reap(): void {
    const cutoff = Date.now() - this.s.reap_timeout_ms;
    for (const [id, t] of this.tombstones) if (t.at < cutoff) this.tombstones.delete(id);
    for (const m of this.table.others()) {
      if ((m.status === 'failed' || m.status === 'left') && m.status_since < cutoff) {
        this.log.info({ member: m.name, status: m.status }, 'cluster: reaped member');
        this.table.remove(m.id);
      }
    }
  }

  private async publish(msg: GossipMessage): Promise<void> {
    this.counters.published++;
    try {
      await this.deps.publish(msg);
    } catch (err) {
      this.log.debug({ err: (err as Error).message, t: msg.t }, 'cluster: gossip publish failed');
    }
  }
}
