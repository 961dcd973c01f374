
// Lifeguard's local health awareness (memberlist awareness.go): a node that is itself slow
// (missed nacks, having to refute suspicions of itself, a stalled event loop) stretches its
// probe timeouts instead of accusing healthy peers. On a loaded 2-core machine this is what
// turns "the prober was late" from a false suspicion into a longer wait.

export class Awareness {
  private score = 0;
  constructor(private readonly max: number) {}

  apply(delta: number): void {
    this.score = Math.min(this.max - 1, Math.max(0, this.score + delta));
  }

  get health(): number {
    return this.score;
  }

  scale(ms: number): number {
    return ms * (this.score + 1);
  }
}

/**
 * Watches this process's event loop: the largest stall seen since a given time. Shared by all
 * cluster instances of a process (one timer, however many in-process nodes a simulation runs).
 *
 * It ticks only while something holds it: a probe from its start to its verdict, a suspicion
 * from its start to its end. A stall only matters to those (did the member have a fair chance
 * to answer, was the suspicion's timeout really waited), and an idle node answered by every
 * member in a millisecond then wakes up for nothing: a 50 ms tick for ever was a fifth of an
 * idle node's wake-ups.
 */
class LoopWatch {
  private ticks: { at: number; lag: number }[] = [];
  private timer: NodeJS.Timeout | null = null;
  private users = 0;
  private last = 0;
  private readonly period = 50;

  /** Keeps the watch ticking until the returned function is called (once; later calls do nothing). */
  hold(): () => void {
    if (this.users++ === 0) this.start();
    let held = true;
    return () => {
      if (!held) return;
      held = false;
      if (--this.users === 0) this.stop();
    };
  }

  private start(): void {
    this.last = performance.now();
    this.timer = setInterval(() => {
      const now = performance.now();
      const lag = Math.max(0, now - this.last - this.period);
      this.last = now;
      this.ticks.push({ at: Date.now(), lag });
      if (this.ticks.length > 200) this.ticks.splice(0, this.ticks.length - 200);
    }, this.period);
    this.timer.unref();
  }

  private stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  /**
   * Largest loop stall (ms) observed since `sinceMs` (epoch ms), including one in progress now.
   * Meaningful while held since `sinceMs`.
   */
  maxLagSince(sinceMs: number): number {
    let max = this.timer ? Math.max(0, performance.now() - this.last - this.period) : 0;
    for (let i = this.ticks.length - 1; i >= 0; i--) {
      const t = this.ticks[i]!;
      // A tick's lag happened before it fired: count it if the stall overlapped the window.
      if (t.at + this.period < sinceMs) break;
      if (t.lag > max) max = t.lag;
    }
    return max;
  }
}

export const loopWatch = new LoopWatch();

/** Let pending I/O (an ack that arrived while a timer was due) be processed before judging. */
export async function drainIo(rounds = 2): Promise<void> {
  for (let i = 0; i < rounds; i++) await new Promise((r) => setImmediate(r));
}

/** A timer that never keeps the process alive (the probe and push-pull loops wait on it). */
export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms).unref?.());
