import { EventEmitter } from 'node:events';
import type { Logger } from '../log.ts';
import { AntiEntropy } from './anti-entropy.ts';
import { Awareness, drainIo, loopWatch } from './awareness.ts';
import type { GossipMessage, PushPull } from './messages.ts';
import { isMemberInfo, isWireMember } from './messages.ts';
import { falseSuspicionsTotal, registerMemberSource, suspicionsTotal } from './metrics.ts';
import type { ProbeTransport } from './probe.ts';
import { ProbeSet } from './probe-set.ts';
import { Prober, type ProberContext } from './prober.ts';
import type { MembershipSettings } from './settings.ts';
import { infoOf, MemberTable, toView, type Change, type Member, type MemberInfo, type MemberView } from './state.ts';
import { expectedConfirmations, Suspicion, suspicionMinTimeout } from './suspicion.ts';

// SWIM with memberlist's refinements and Lifeguard's local health. The prober (prober.ts)
// pings one member per interval and hands over the ones that fail direct and indirect probes;
// here they are suspected and the suspicion gossiped; the suspect refutes with a higher
// incarnation, or the suspicion times out (shortened by independent confirmations, suspicion.ts)
// into failed. Changes travel on gossipsub; a periodic push-pull (anti-entropy.ts) repairs what
// gossip missed, and its tables are merged here. The member records themselves are state.ts.

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
  connections?: ProberContext['connections'];
  logger: Logger;
}

export class Membership extends EventEmitter<MembershipEvents> {
  readonly table: MemberTable;
  readonly awareness: Awareness;
  transport!: ProbeTransport;
  private suspicions = new Map<string, Suspicion>();
  private readonly prober: Prober;
  private readonly antiEntropy: AntiEntropy;
  private running = false;
  private leaving = false;
  private timers: NodeJS.Timeout[] = [];
  private unregisterMetrics: () => void = () => {};
  private readonly s: MembershipSettings;
  private readonly log: Logger;
  /** Gossip messages published / received (bench: per-node message rate). */
  readonly counters = { published: 0, received: 0, syncs: 0, sync_failures: 0 };
  /** The configuration state setLocalState last published (the self entry may already be newer: noteLocalState). */
  private told: { config_version: number; config_hash: string | null };

  constructor(private readonly deps: MembershipDeps) {
    super();
    this.s = deps.settings;
    this.log = deps.logger;
    this.table = new MemberTable(deps.self.id);
    this.table.setSelf(deps.self, Date.now());
    this.told = { config_version: deps.self.config_version, config_hash: deps.self.config_hash };
    this.awareness = new Awareness(this.s.awareness_max_multiplier);
    const running = () => this.running;
    const leaving = () => this.leaving;
    const transport = () => this.transport;
    this.prober = new Prober({
      table: this.table,
      awareness: this.awareness,
      probeSet: new ProbeSet(deps.self.id, this.s.probe_rings),
      settings: this.s,
      log: this.log,
      transport,
      connections: deps.connections,
      running,
      leaving,
      syncWith: (peerId) => this.syncWith(peerId),
      suspect: (m, refused) => this.suspectAfterProbe(m, refused),
    });
    this.antiEntropy = new AntiEntropy({
      table: this.table,
      settings: this.s,
      log: this.log,
      transport,
      running,
      leaving,
      randomNeighbour: () => this.prober.randomNeighbour(),
      merge: (members, from, relayJoiner) => this.merge(members, from, relayJoiner),
      counters: this.counters,
    });
  }

  /** True when this node probes `id` or is probed by it (always, in an all-to-all cluster). */
  isNeighbour(id: string): boolean {
    return this.prober.isNeighbour(id);
  }

  get self(): Member {
    return this.table.get(this.table.selfId)!;
  }

  start(): void {
    this.running = true;
    this.unregisterMetrics = registerMemberSource(() => this.table.all().map((m) => m.status));
    void this.prober.loop();
    void this.antiEntropy.loop();
    const reap = setInterval(() => this.reap(), this.s.reap_interval_ms);
    reap.unref();
    this.timers.push(reap);
    void this.publish({ t: 'alive', m: infoOf(this.self) });
  }

  /** Gossip our own record (after joining: the first announcement at start had nobody to reach). */
  announce(): void {
    if (!this.running || this.leaving) return;
    void this.publish({ t: 'alive', m: infoOf(this.self) });
    this.antiEntropy.afterJoin();
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
    this.antiEntropy.stop();
    for (const s of this.suspicions.values()) s.cancel();
    this.suspicions.clear();
    this.unregisterMetrics();
  }

  views(): MemberView[] {
    const now = Date.now();
    return this.table.all().map((m) => toView(m, this.table.selfId, now)).sort((a, b) => a.name.localeCompare(b.name));
  }

  view(ref: string): MemberView | undefined {
    const m = this.table.find(ref);
    return m ? toView(m, this.table.selfId, Date.now()) : undefined;
  }

  /** This node's own entry shows `state` at once; the cluster hears of it with the next setLocalState. */
  noteLocalState(state: { config_version?: number; config_hash?: string | null }): void {
    const me = this.self;
    if (state.config_version !== undefined) me.config_version = state.config_version;
    if (state.config_hash !== undefined) me.config_hash = state.config_hash;
  }

  /** Tell the cluster our configuration state (a new incarnation), unless it already heard this one. */
  setLocalState(state: { config_version?: number; config_hash?: string | null }): void {
    this.noteLocalState(state);
    const me = this.self;
    if (me.config_version === this.told.config_version && me.config_hash === this.told.config_hash) return;
    this.told = { config_version: me.config_version, config_hash: me.config_hash };
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
    return this.antiEntropy.handle(msg, fromPeer);
  }

  /** Sync with a peer we just connected to (a join): push our table, merge theirs. */
  syncWith(peerId: string): Promise<boolean> {
    return this.antiEntropy.syncWith(peerId);
  }

  /** All connections to a member closed: probe it now (a killed process refuses the redial). */
  onDisconnect(peerId: string): void {
    if (!this.running || this.leaving) return;
    const m = this.table.byPeerId(peerId);
    if (!m || m.id === this.table.selfId || (m.status !== 'alive' && m.status !== 'suspect')) return;
    // A connection closed by a trim (ours or theirs) is not news; one to a neighbour is.
    if (!this.isNeighbour(m.id)) return;
    void this.prober.probe(m, 'disconnect');
  }

  // ---------- state changes ----------

  /** The prober's verdict: a member failed a direct and the indirect probes. */
  private async suspectAfterProbe(m: Member, refused: boolean): Promise<void> {
    const msg: GossipMessage = { t: 'suspect', id: m.id, inc: m.incarnation, from: this.table.selfId };
    this.applySuspect(m.id, m.incarnation, this.table.selfId, refused);
    await this.publish(msg);
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
    // gives suspects longer. So does a host where every member answers slowly (prober.slowness):
    // the suspect hears of the accusation and its refutation comes back through the same slow
    // gossip. Thirty nodes started at once on two cores failed 50 of each other in their first
    // minute with the unstretched timeout, and each failure cost a rejoin. A refused redial
    // needs no such patience.
    const patience = strong ? 1 : Math.max(1 + this.awareness.health / 2, this.prober.slowness());
    const min = suspicionMinTimeout(this.s.suspicion_mult, n, this.s.probe_interval_ms) * patience;
    const max = this.s.suspicion_max_timeout_mult * min;
    this.suspicions.get(id)?.cancel();
    const s = new Suspicion(inc, from, k, min, max, () => void this.suspicionExpired(id, inc, min), strong);
    this.suspicions.set(id, s);
    suspicionsTotal.inc();
    this.onChange(change);
    // Someone else suspects it: check for ourselves now, so an independent confirmation (or a
    // refutation by our successful ping... which only gossip from the member itself can do) comes fast.
    // Only its ring neighbours: a hundred members dialling one suspect would be a storm.
    if (from !== this.table.selfId && this.isNeighbour(id)) void this.prober.probe(cur, 'confirm');
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

  // ---------- push-pull: merging a received table (anti-entropy.ts sends and receives it) ----------

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
