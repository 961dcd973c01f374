import type { Connection } from '@libp2p/interface';
import type { ClusterLibp2p } from './host.ts';

// Which cluster connections get a liveness ping of their own. libp2p's connection monitor
// pings EVERY connection every interval on a new stream (yamux stream, multistream-select,
// 32 bytes each way, close), from both ends: with a full mesh that is 2 x (n-1) streams a
// second per node, the largest idle cost that grew with the cluster (bench:idle, issue #17).
// A connection to a live member needs none of it: the membership protocol already watches
// every live member (direct, then indirect probes, suspicion, failure in <= 3 s), and its
// verdicts close what the monitor used to close:
//  - a member marked failed has its connections hung up (a hung, SIGSTOPped peer's sockets);
//  - a direct probe that misses while an indirect one answers (a bad link between two live
//    members) hangs up the connection it missed on, so the next probe dials afresh.
// What is left for the ping is a connection to a peer that is no live member (a stranger
// still joining, a failed or forgotten member that dialled back): few, and not O(n).

export interface ConnectionWatchOptions {
  libp2p: ClusterLibp2p;
  /** True when the membership protocol watches this peer (an alive or suspect member). */
  watched(peerId: string): boolean;
  intervalMs: number;
  /** How long a ping may take before the connection is closed (the monitor's was 1.5-3 x the interval). */
  timeoutMs: number;
  onClosed?(peerId: string, err: Error): void;
}

export class ConnectionWatch {
  private timer: NodeJS.Timeout | null = null;
  private inflight = new Set<string>();

  constructor(private readonly o: ConnectionWatchOptions) {}

  start(): void {
    this.timer = setInterval(() => this.round(), this.o.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  /** Connections to peers nobody else watches; exported for tests through round(). */
  unwatched(): Connection[] {
    return this.o.libp2p.getConnections().filter((c) => c.status === 'open' && !this.o.watched(c.remotePeer.toString()));
  }

  /** Ping each unwatched peer once (on the connection it has: libp2p reuses it); close its connections when that fails. */
  round(): void {
    const peers = new Map(this.unwatched().map((c) => [c.remotePeer.toString(), c.remotePeer]));
    for (const [key, peer] of peers) {
      if (this.inflight.has(key)) continue;
      this.inflight.add(key);
      this.o.libp2p.services.ping
        .ping(peer, { signal: AbortSignal.timeout(this.o.timeoutMs) })
        .catch((err: Error) => {
          if (err.name === 'UnsupportedProtocolError') return; // it answered multistream-select: alive
          this.abortAll(key, `connection ping failed: ${err.message}`);
          this.o.onClosed?.(key, err);
        })
        .finally(() => this.inflight.delete(key));
    }
  }

  private abortAll(peerId: string, reason: string): void {
    for (const conn of this.o.libp2p.getConnections()) if (conn.remotePeer.toString() === peerId) conn.abort(new Error(reason));
  }

  /**
   * The membership failed this peer: abort every connection to it (not a graceful close, which
   * would wait on a hung peer). A member failed by mistake refutes over a new one.
   */
  hangUp(peerId: string, reason: string): void {
    this.abortAll(peerId, reason);
  }
}
