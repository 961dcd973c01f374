// Who probes whom. Small clusters probe all-to-all (SWIM: one member per interval, shuffled
// round-robin over everyone). Large ones would then hold a connection to every member, and on
// libp2p a connection is not a UDP packet: a noise handshake, identify, a yamux session,
// a yamux session and gossipsub's streams, times n-1 per node. So above a size
// each member watches only its successor on each of `rings` pseudo-random rings (Rapid's
// K-ring monitoring topology): every member is watched by `rings` observers, every node
// keeps about 2 x rings connections whatever the cluster size, and the rings together form an
// expander graph over which gossipsub spreads changes in O(log n) hops.

export interface Neighbours {
  /** True when the cluster is small enough to probe everyone. */
  all: boolean;
  /** Members this node probes (its successor on each ring). */
  subjects: Set<string>;
  /** Members that probe this node (its predecessor on each ring). */
  observers: Set<string>;
}

/** FNV-1a, 32 bits: a cheap, stable position on a ring (not a security boundary). */
function ringPosition(ring: number, id: string): number {
  let h = 0x811c9dc5 ^ ring;
  for (let i = 0; i < id.length; i++) {
    h ^= id.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

export class ProbeSet {
  private key = '';
  private rings: string[][] = [];
  private cached: Neighbours = { all: true, subjects: new Set(), observers: new Set() };

  constructor(
    private readonly selfId: string,
    /** Rings (observers per member); 0 turns the ring topology off (always all-to-all). */
    private readonly ringCount: number,
  ) {}

  /** Below this many other members, everyone probes everyone. */
  get allToAllUpTo(): number {
    return 2 * this.ringCount;
  }

  /** The neighbourhood of this node among `liveIds` (every live member's id, self included). */
  neighbours(liveIds: string[]): Neighbours {
    const sorted = [...liveIds].sort();
    const key = sorted.join(',');
    if (key === this.key) return this.cached;
    this.key = key;
    const others = sorted.filter((id) => id !== this.selfId);
    if (this.ringCount <= 0 || others.length <= this.allToAllUpTo) {
      this.rings = [];
      this.cached = { all: true, subjects: new Set(others), observers: new Set(others) };
      return this.cached;
    }
    const withSelf = sorted.includes(this.selfId) ? sorted : [...sorted, this.selfId];
    this.rings = Array.from({ length: this.ringCount }, (_, r) => {
      const pos = new Map(withSelf.map((id) => [id, ringPosition(r, id)]));
      return [...withSelf].sort((a, b) => pos.get(a)! - pos.get(b)! || (a < b ? -1 : 1));
    });
    const subjects = new Set<string>();
    const observers = new Set<string>();
    for (const ring of this.rings) {
      const i = ring.indexOf(this.selfId);
      subjects.add(ring[(i + 1) % ring.length]!);
      observers.add(ring[(i - 1 + ring.length) % ring.length]!);
    }
    this.cached = { all: false, subjects, observers };
    return this.cached;
  }

  /** The members that watch `id` (its predecessors on the rings of the last computed view). */
  observersOf(id: string): string[] {
    const out = new Set<string>();
    for (const ring of this.rings) {
      const i = ring.indexOf(id);
      if (i >= 0) out.add(ring[(i - 1 + ring.length) % ring.length]!);
    }
    return [...out];
  }

  /** True when this node has reason to talk to `id` directly (probe it, or be probed by it). */
  isNeighbour(liveIds: string[], id: string): boolean {
    const n = this.neighbours(liveIds);
    return n.all || n.subjects.has(id) || n.observers.has(id);
  }
}
