// The chaos simulator's partition switch: a set of peers this node refuses to talk to.
// Entries are peer ids or anything that names a member (address host:port, node id, name);
// the latter are resolved through the membership table whenever it changes.

const PEER_ID = /^(12D3Koo|Qm|16Uiu2)[1-9A-HJ-NP-Za-km-z]+$/;

export class Blocklist {
  private entries = new Set<string>();
  private peerIds = new Set<string>();

  constructor(
    entries: Iterable<string> = [],
    /** Maps a non-peer-id entry to peer ids (membership lookup); re-run by refresh(). */
    private resolve: (entry: string) => string[] = () => [],
  ) {
    this.set(entries);
  }

  setResolver(resolve: (entry: string) => string[]): void {
    this.resolve = resolve;
    this.refresh();
  }

  set(entries: Iterable<string>): void {
    this.entries = new Set([...entries].map((e) => e.trim()).filter(Boolean));
    this.refresh();
  }

  list(): string[] {
    return [...this.entries];
  }

  refresh(): void {
    const ids = new Set<string>();
    for (const e of this.entries) {
      if (PEER_ID.test(e)) ids.add(e);
      else for (const id of this.resolve(e)) ids.add(id);
    }
    this.peerIds = ids;
  }

  has(peerId: string): boolean {
    return this.peerIds.has(peerId);
  }

  /** For addresses seen before the peer id is known (an inbound TCP connection): host:port match. */
  hasAddress(hostPort: string): boolean {
    return this.entries.has(hostPort);
  }

  get size(): number {
    return this.entries.size;
  }

  blockedPeerIds(): string[] {
    return [...this.peerIds];
  }
}
