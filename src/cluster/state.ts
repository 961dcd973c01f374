// The membership table and memberlist's precedence rules: a higher incarnation always wins,
// at equal incarnation failed/left > suspect > alive, and only the member itself may raise its
// incarnation (refutation). Pure bookkeeping: no timers, no network.

export type MemberStatus = 'alive' | 'suspect' | 'failed' | 'left';

/** What a member announces about itself (gossip, push-pull). */
export interface MemberInfo {
  id: string;
  name: string;
  peer_id: string;
  /** host:port other nodes dial (cluster_advertise). */
  address: string;
  /** Full multiaddrs, with /p2p/<peer id>. */
  addresses: string[];
  role: string;
  version: string;
  config_version: number;
  config_hash: string | null;
  incarnation: number;
}

export interface Member extends MemberInfo {
  status: MemberStatus;
  /** ms epoch: last direct evidence the member was alive (ack, its own message, push-pull). */
  last_seen: number;
  /** ms epoch of the last status change (the reaper's clock). */
  status_since: number;
}

/** A member as the state exchange carries it: what it announced plus our view of its status. */
export interface WireMember extends MemberInfo {
  status: MemberStatus;
}

/** The shape GET /cluster/members returns. */
export interface MemberView {
  id: string;
  name: string;
  peer_id: string;
  address: string;
  addresses: string[];
  role: string;
  status: MemberStatus;
  incarnation: number;
  version: string;
  config_version: number;
  config_hash: string | null;
  last_seen: string;
  self: boolean;
}

export type Change =
  | { kind: 'joined'; member: Member }
  | { kind: 'rejoined'; member: Member; previous: MemberStatus }
  | { kind: 'updated'; member: Member; previous: Member }
  | { kind: 'suspect'; member: Member }
  | { kind: 'refuted'; member: Member }
  | { kind: 'failed'; member: Member }
  | { kind: 'left'; member: Member };

export class MemberTable {
  private byId = new Map<string, Member>();
  private byPeer = new Map<string, string>();

  constructor(readonly selfId: string) {}

  get(id: string): Member | undefined {
    return this.byId.get(id);
  }

  byPeerId(peerId: string): Member | undefined {
    const id = this.byPeer.get(peerId);
    return id ? this.byId.get(id) : undefined;
  }

  /** By id, name, peer id or address. */
  find(ref: string): Member | undefined {
    const direct = this.byId.get(ref) ?? this.byPeerId(ref);
    if (direct) return direct;
    for (const m of this.byId.values()) if (m.name === ref || m.address === ref) return m;
    return undefined;
  }

  all(): Member[] {
    return [...this.byId.values()];
  }

  others(): Member[] {
    return this.all().filter((m) => m.id !== this.selfId);
  }

  /** Members that count as in the cluster (probe targets, helpers, the n of the timeout formulas). */
  live(): Member[] {
    return this.all().filter((m) => m.status === 'alive' || m.status === 'suspect');
  }

  remove(id: string): void {
    const m = this.byId.get(id);
    if (!m) return;
    this.byId.delete(id);
    if (this.byPeer.get(m.peer_id) === id) this.byPeer.delete(m.peer_id);
  }

  /** The local node's own record; its incarnation is only changed by the node itself. */
  setSelf(info: MemberInfo, now: number): Member {
    const m: Member = { ...info, status: 'alive', last_seen: now, status_since: this.byId.get(info.id)?.status_since ?? now };
    this.put(m);
    return m;
  }

  private put(m: Member): void {
    const old = this.byId.get(m.id);
    if (old && old.peer_id !== m.peer_id && this.byPeer.get(old.peer_id) === m.id) this.byPeer.delete(old.peer_id);
    this.byId.set(m.id, m);
    this.byPeer.set(m.peer_id, m.id);
  }

  /** An alive announcement (the member's own message, or an entry of a push-pull). */
  alive(info: MemberInfo, now: number, direct: boolean): Change | null {
    const cur = this.byId.get(info.id);
    if (!cur) {
      const m: Member = { ...info, status: 'alive', last_seen: now, status_since: now };
      this.put(m);
      return { kind: 'joined', member: m };
    }
    if (info.incarnation < cur.incarnation) return null;
    if (info.incarnation === cur.incarnation) {
      // Same incarnation: nothing new, but a direct word from the member is still a sign of life.
      if (direct && (cur.status === 'alive' || cur.status === 'suspect')) cur.last_seen = now;
      return null;
    }
    const previous = { ...cur };
    const m: Member = { ...info, status: 'alive', last_seen: now, status_since: cur.status === 'alive' ? cur.status_since : now };
    this.put(m);
    if (previous.status === 'failed' || previous.status === 'left') return { kind: 'rejoined', member: m, previous: previous.status };
    if (previous.status === 'suspect') return { kind: 'refuted', member: m };
    return { kind: 'updated', member: m, previous };
  }

  suspect(id: string, incarnation: number, now: number): Change | null {
    const cur = this.byId.get(id);
    if (!cur || incarnation < cur.incarnation) return null;
    if (cur.status !== 'alive') return null;
    cur.status = 'suspect';
    cur.incarnation = incarnation;
    cur.status_since = now;
    return { kind: 'suspect', member: cur };
  }

  failed(id: string, incarnation: number, now: number): Change | null {
    const cur = this.byId.get(id);
    if (!cur || incarnation < cur.incarnation) return null;
    if (cur.status === 'failed' || cur.status === 'left') return null;
    cur.status = 'failed';
    cur.incarnation = incarnation;
    cur.status_since = now;
    return { kind: 'failed', member: cur };
  }

  left(info: MemberInfo, now: number): Change | null {
    const cur = this.byId.get(info.id);
    if (cur && (info.incarnation < cur.incarnation || cur.status === 'left')) return null;
    const m: Member = { ...(cur ?? info), ...info, status: 'left', last_seen: cur?.last_seen ?? now, status_since: now };
    this.put(m);
    return { kind: 'left', member: m };
  }
}

export function toWire(m: Member): WireMember {
  return { ...infoOf(m), status: m.status };
}

export function infoOf(m: MemberInfo): MemberInfo {
  return {
    id: m.id,
    name: m.name,
    peer_id: m.peer_id,
    address: m.address,
    addresses: m.addresses,
    role: m.role,
    version: m.version,
    config_version: m.config_version,
    config_hash: m.config_hash,
    incarnation: m.incarnation,
  };
}

export function toView(m: Member, selfId: string, now: number): MemberView {
  return {
    id: m.id,
    name: m.name,
    peer_id: m.peer_id,
    address: m.address,
    addresses: m.addresses,
    role: m.role,
    status: m.status,
    incarnation: m.incarnation,
    version: m.version,
    config_version: m.config_version,
    config_hash: m.config_hash,
    last_seen: new Date(m.id === selfId ? now : m.last_seen).toISOString(),
    self: m.id === selfId,
  };
}
