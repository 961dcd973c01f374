// How long this node waits for a direct probe's answer: cluster_probe_timeout, or longer while
// the answers it gets are slow. TCP's retransmission timeout (RFC 6298: smoothed round trip
// plus four times its mean deviation) over every member's answers, late ones included.
//
// Why: on a host whose cores are all busy (thirty nodes started at once on two cores, a
// noisy neighbour), every process gets the CPU late and round trips grow from 1 ms to
// hundreds; a fixed 250 ms then suspects members that are only as slow as everyone, and
// each refutation is more gossip for the saturated host. Lifeguard's local health
// (awareness.ts) only stretches the timeout when this node sees itself as the slow one. A
// member that stops answering altogether (a stopped or hung process) gives no samples, so
// the timeout stays where the others' answers keep it: on a quiet cluster, the configured one.

export class ProbeRtt {
  private srtt = -1;
  private rttvar = 0;

  constructor(
    /** cluster_probe_timeout. */
    private readonly minMs: number,
    /** cluster_probe_timeout × cluster_awareness_max_multiplier: Lifeguard's own ceiling. */
    readonly maxMs: number,
  ) {}

  /** One answered probe's round trip (ms), however late it came. */
  sample(rttMs: number): void {
    const r = Math.min(Math.max(0, rttMs), this.maxMs);
    if (this.srtt < 0) {
      this.srtt = r;
      this.rttvar = r / 2;
      return;
    }
    this.rttvar = 0.75 * this.rttvar + 0.25 * Math.abs(this.srtt - r);
    this.srtt = 0.875 * this.srtt + 0.125 * r;
  }

  /** How many times the configured timeout the answers take now: 1 ≤ stretch ≤ max / min. */
  stretch(): number {
    return this.timeout() / this.minMs;
  }

  /** The direct probe's timeout now: min ≤ srtt + 4·rttvar ≤ max. */
  timeout(): number {
    if (this.srtt < 0) return this.minMs;
    return Math.min(this.maxMs, Math.max(this.minMs, Math.ceil(this.srtt + 4 * this.rttvar)));
  }
}
