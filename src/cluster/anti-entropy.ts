import type { Logger } from '../log.ts';
import { sleep } from './awareness.ts';
import type { PushPull } from './messages.ts';
import { isWireMember } from './messages.ts';
import type { ProbeTransport } from './probe.ts';
import type { MembershipSettings } from './settings.ts';
import { toWire, type Member, type MemberTable } from './state.ts';

// memberlist's push-pull: full-state exchanges with one neighbour at a time, the anti-entropy
// that repairs whatever gossip missed. Merging a received table into ours is a state change
// and stays with the membership (merge); this side is the when and with whom.

/** What the exchanges read from and hand to the membership they work for. */
export interface AntiEntropyContext {
  table: MemberTable;
  settings: MembershipSettings;
  log: Logger;
  /** Set by startCluster after the membership is built, hence read through a function. */
  transport(): ProbeTransport;
  running(): boolean;
  leaving(): boolean;
  randomNeighbour(): Member | undefined;
  /** Merges a received table; returns how many members it taught us that gossip had not. */
  merge(members: unknown[], from: string, relayJoiner?: boolean): number;
  counters: { syncs: number; sync_failures: number };
}

/** After a join, full-state exchanges this long after, before the regular push-pull rounds. */
const AFTER_JOIN_MS = [1000, 3000];

export class AntiEntropy {
  private timers: NodeJS.Timeout[] = [];
  private catchUpTimer: NodeJS.Timeout | null = null;

  constructor(private readonly c: AntiEntropyContext) {}

  private get self(): Member {
    return this.c.table.get(this.c.table.selfId)!;
  }

  private active(): boolean {
    return this.c.running() && !this.c.leaving();
  }

  /**
   * Members that joined alongside us were relayed while gossipsub did not yet know our
   * subscription; two early full-state exchanges catch up instead of the next push-pull.
   */
  afterJoin(): void {
    for (const delay of AFTER_JOIN_MS) {
      const t = setTimeout(() => {
        const peer = this.c.randomNeighbour();
        if (peer && this.active()) void this.syncWith(peer.peer_id);
      }, delay);
      t.unref();
      this.timers.push(t);
    }
  }

  stop(): void {
    for (const t of this.timers) clearTimeout(t);
    if (this.catchUpTimer) clearTimeout(this.catchUpTimer);
  }

  stateMessage(join: boolean): PushPull {
    return { from: this.c.table.selfId, join, members: this.c.table.all().map(toWire) };
  }

  /** The responder side of push-pull; null rejects a malformed request. */
  handle(msg: PushPull, fromPeer: string): PushPull | null {
    if (!msg || typeof msg.from !== 'string' || !Array.isArray(msg.members)) return null;
    const sender = msg.members.find((m) => isWireMember(m) && m.id === msg.from);
    if (!sender || sender.peer_id !== fromPeer) return null;
    const reply = this.stateMessage(false);
    if (this.c.running() && this.c.merge(msg.members, msg.from, msg.join) > 0) this.catchUpSoon();
    return reply;
  }

  /** Sync with a peer we just connected to (a join): push our table, merge theirs. */
  async syncWith(peerId: string): Promise<boolean> {
    const { transport, settings, counters } = this.c;
    try {
      const before = this.self.incarnation;
      const reply = await transport().pushPull(peerId, this.stateMessage(true), settings.dial_timeout_ms);
      if (!Array.isArray(reply?.members)) return false;
      const sender = reply.members.find((m) => isWireMember(m) && m.id === reply.from);
      if (!sender || sender.peer_id !== peerId) return false;
      // Gossip missed a member (usually one that joined while we did): ask another neighbour
      // soon, until an exchange teaches nothing new, instead of waiting for the next round.
      if (this.c.merge(reply.members, reply.from) > 0) this.catchUpSoon();
      counters.syncs++;
      // We refuted a stale view of ourselves: tell this peer directly, not only by gossip.
      if (this.self.incarnation !== before) await transport().pushPull(peerId, this.stateMessage(true), settings.dial_timeout_ms).catch(() => {});
      return true;
    } catch (err) {
      counters.sync_failures++;
      this.c.log.debug({ peer: peerId, err: (err as Error).message }, 'cluster: push-pull failed');
      return false;
    }
  }

  private catchUpSoon(): void {
    if (this.catchUpTimer || !this.active()) return;
    this.catchUpTimer = setTimeout(() => {
      this.catchUpTimer = null;
      const peer = this.c.randomNeighbour();
      if (peer && this.active()) void this.syncWith(peer.peer_id);
    }, this.c.settings.catch_up_interval_ms);
    this.catchUpTimer.unref();
  }

  async loop(): Promise<void> {
    const { table, settings } = this.c;
    while (this.c.running()) {
      const n = table.live().length;
      // memberlist's pushPullScale: above 32 members the interval grows with log2(n).
      const scale = n <= 32 ? 1 : Math.ceil(Math.log2(n) - Math.log2(32)) + 1;
      await sleep(settings.push_pull_interval_ms * scale * (0.75 + Math.random() * 0.5));
      if (!this.active()) return;
      // Anti-entropy with a neighbour: on the rings' expander graph a difference still spreads
      // everywhere, and no connection is opened just for it.
      const peer = this.c.randomNeighbour();
      if (peer) await this.syncWith(peer.peer_id);
      // serf's reconnect: now and then try a failed member; one that was only cut off (a
      // healed partition, a long pause) learns it was failed and refutes.
      const failed = table.others().filter((m) => m.status === 'failed');
      if (failed.length && Math.random() < 0.5) await this.syncWith(failed[Math.floor(Math.random() * failed.length)]!.peer_id);
    }
  }
}
