import { loopWatch } from './awareness.ts';

// Lifeguard's suspicion timer as memberlist implements it (suspicion.go): the timeout starts at
// max and shrinks logarithmically toward min with each independent confirmation, so a failure
// seen by several members is declared quickly while one member's lone (possibly slow) view
// waits long enough for the suspect to refute.

/** memberlist's suspicionTimeout(): mult * max(1, log10(n)) * interval. */
export function suspicionMinTimeout(mult: number, n: number, intervalMs: number): number {
  const nodeScale = Math.max(1, Math.log10(Math.max(1, n)));
  return mult * nodeScale * intervalMs;
}

/** memberlist's remainingSuspicionTime() without the elapsed part: the total timeout after c confirmations. */
export function suspicionTimeout(c: number, k: number, minMs: number, maxMs: number): number {
  if (k <= 0) return minMs;
  const frac = Math.log(c + 1) / Math.log(k + 1);
  return Math.max(minMs, Math.floor(maxMs - frac * (maxMs - minMs)));
}

/** Confirmations expected before the timeout reaches min: mult - 2, fewer in a tiny cluster. */
export function expectedConfirmations(mult: number, n: number): number {
  const k = mult - 2;
  return n - 2 < k ? Math.max(0, n - 2) : k;
}

export class Suspicion {
  private timer: NodeJS.Timeout | null = null;
  private confirmations = new Set<string>();
  readonly start: number;

  constructor(
    readonly incarnation: number,
    from: string,
    private readonly k: number,
    private readonly minMs: number,
    private readonly maxMs: number,
    private readonly onTimeout: () => void,
    /** Strong evidence (a refused redial): start at min as if every confirmation had come. */
    strong = false,
  ) {
    this.start = Date.now();
    // Whether our own loop stalled during the timeout is asked when it expires (membership.ts).
    this.releaseWatch = loopWatch.hold();
    this.strongEvidence = strong;
    this.confirmations.add(from);
    this.arm(strong ? this.minMs : suspicionTimeout(0, this.k, this.minMs, this.maxMs));
  }

  /** An independent suspicion from another member; returns true when it was new. */
  confirm(from: string): boolean {
    if (this.confirmations.has(from) || this.timer === null) return false;
    this.confirmations.add(from);
    const c = this.confirmations.size - 1;
    this.arm(Math.min(this.currentTimeout, suspicionTimeout(c, this.k, this.minMs, this.maxMs)));
    return true;
  }

  /** Strong evidence arrived (a refused redial): no need to wait for more confirmations. */
  strengthen(): void {
    this.strongEvidence = true;
    if (this.timer === null || this.currentTimeout <= this.minMs) return;
    this.arm(this.minMs);
  }

  /** A refused redial was seen: the process is gone, no local stall can explain it. */
  strongEvidence: boolean;

  /** Lifeguard: evidence the timeout was not really experienced (our own process stalled); push expiry back. */
  extend(ms: number): void {
    if (this.cancelled) return;
    this.arm(this.currentTimeout + ms);
  }

  private currentTimeout = 0;

  private arm(totalMs: number): void {
    this.currentTimeout = totalMs;
    if (this.timer) clearTimeout(this.timer);
    const remaining = Math.max(0, this.start + totalMs - Date.now());
    this.timer = setTimeout(() => {
      this.timer = null;
      this.onTimeout();
    }, remaining);
    this.timer.unref?.();
  }

  get elapsed(): number {
    return Date.now() - this.start;
  }

  accusedBy(id: string): boolean {
    return this.confirmations.has(id);
  }

  get count(): number {
    return this.confirmations.size;
  }

  private cancelled = false;
  private readonly releaseWatch: () => void;

  /** Ends the suspicion: its timer, and its hold on the loop watch. */
  cancel(): void {
    this.cancelled = true;
    this.releaseWatch();
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }
}
