// Convergence probes: after an acknowledged route write, ask every up node's proxy directly
// (not through the balancer) until it serves the write; then, now and then, ask again to catch
// a node that goes back to stale config. Each node is probed on its own clock: a node whose
// probes time out must not delay the probes (and so the measured convergence) of the others.
import type { ProbeEvent, Recorder, WriteEvent } from '../history.ts';
import type { Prng } from '../prng.ts';
import { call } from './http.ts';

export interface ProbeTarget {
  name: string;
  proxyUrl: string;
}

interface Expectation {
  write: WriteEvent;
  converged: Set<string>;
  superseded: boolean;
}

export interface ProberOptions {
  recorder: Recorder;
  rng: Prng;
  targets: () => ProbeTarget[];
  intervalMs?: number;
  /** Pending expectations probed per node per round: bounds the probe load. */
  perNode?: number;
  timeoutMs?: number;
}

export class Prober {
  private readonly all: Expectation[] = [];
  private readonly byKey = new Map<string, Expectation>();
  private timer: NodeJS.Timeout | undefined;
  private readonly busy = new Set<string>();
  private readonly inflight = new Set<Promise<void>>();
  private readonly rounds = new Map<string, number>();
  probes = 0;

  constructor(private readonly o: ProberOptions) {}

  /** A write to `key` was sent: what was expected of the key before no longer holds. */
  supersede(key: string): void {
    const e = this.byKey.get(key);
    if (e) e.superseded = true;
  }

  expect(w: WriteEvent): void {
    const e: Expectation = { write: w, converged: new Set(), superseded: false };
    this.all.push(e);
    this.byKey.set(w.key, e);
  }

  start(): void {
    this.timer = setInterval(() => {
      for (const node of this.o.targets()) {
        if (this.busy.has(node.name)) continue; // its last round is still waiting for answers
        this.busy.add(node.name);
        const p = this.nodeRound(node).finally(() => {
          this.busy.delete(node.name);
          this.inflight.delete(p);
        });
        this.inflight.add(p);
      }
    }, this.o.intervalMs ?? 100);
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await Promise.all([...this.inflight]);
  }

  /** True when the node serves what the write expects; undefined when it gave no answer at all. */
  private async probe(node: ProbeTarget, e: Expectation): Promise<boolean | undefined> {
    const results = await Promise.all(
      Object.entries(e.write.expect ?? {}).map(async ([path, expected]) => {
        const t = this.o.recorder.now();
        const r = await call('GET', `${node.proxyUrl}${path}`, { timeoutMs: this.o.timeoutMs ?? 1000 });
        this.probes++;
        this.o.recorder.add<ProbeEvent>({ kind: 'probe', t, node: node.name, seq: e.write.seq, path, expected, status: r.status, answered: this.o.recorder.now() });
        return r.status === 0 ? undefined : r.status === expected;
      }),
    );
    return results.includes(undefined) ? undefined : results.every(Boolean);
  }

  private async nodeRound(node: ProbeTarget): Promise<void> {
    const round = (this.rounds.get(node.name) ?? 0) + 1;
    this.rounds.set(node.name, round);
    const live = this.all.filter((e) => !e.superseded);
    // Rotate through a backlog (a node back from the dead owes every write it missed) so
    // that no expectation waits long for its probe: a late probe would read as late convergence.
    const all = live.filter((e) => !e.converged.has(node.name));
    const cap = this.o.perNode ?? 12;
    const from = all.length > cap ? (round * cap) % all.length : 0;
    const pending = all.length > cap ? [...all, ...all].slice(from, from + cap) : all;
    const done = live.filter((e) => e.converged.has(node.name)).slice(-30);
    const recheck = done.length && this.o.rng.next() < 0.5 ? [this.o.rng.pick(done)] : [];
    const check = async (e: Expectation) => {
      const served = await this.probe(node, e);
      if (served) e.converged.add(node.name);
      return served;
    };
    // One probe first: a node that does not answer (booting, starved) gets one request a round,
    // not a burst of them that would keep it from answering.
    const [first, ...rest] = pending;
    if (first && (await check(first)) === undefined) return;
    await Promise.all([...rest.map(check), ...recheck.map((e) => this.probe(node, e))]);
  }
}
