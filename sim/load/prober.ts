// Convergence probes: after an acknowledged route write, ask every up node's proxy directly
// (not through the balancer) until it serves the write; then, now and then, ask again to catch
// a node that goes back to stale config.
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
  private stopped = false;
  private loop: Promise<void> | undefined;
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
    const interval = this.o.intervalMs ?? 100;
    this.loop = (async () => {
      while (!this.stopped) {
        const t0 = performance.now();
        await this.round();
        const wait = interval - (performance.now() - t0);
        if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      }
    })();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.loop;
  }

  private async probe(node: ProbeTarget, e: Expectation): Promise<boolean> {
    const results = await Promise.all(
      Object.entries(e.write.expect ?? {}).map(async ([path, expected]) => {
        const t = this.o.recorder.now();
        const r = await call('GET', `${node.proxyUrl}${path}`, { timeoutMs: this.o.timeoutMs ?? 1000 });
        this.probes++;
        this.o.recorder.add<ProbeEvent>({ kind: 'probe', t, node: node.name, seq: e.write.seq, path, expected, status: r.status });
        return r.status === expected;
      }),
    );
    return results.every(Boolean);
  }

  private rounds = 0;

  async round(): Promise<void> {
    this.rounds++;
    const live = this.all.filter((e) => !e.superseded);
    await Promise.all(
      this.o.targets().map(async (node) => {
        // Rotate through a backlog (a node back from the dead owes every write it missed) so
        // that no expectation waits long for its probe: a late probe would read as late convergence.
        const all = live.filter((e) => !e.converged.has(node.name));
        const cap = this.o.perNode ?? 12;
        const from = all.length > cap ? (this.rounds * cap) % all.length : 0;
        const pending = all.length > cap ? [...all, ...all].slice(from, from + cap) : all;
        const done = live.filter((e) => e.converged.has(node.name)).slice(-30);
        const recheck = done.length && this.o.rng.next() < 0.5 ? [this.o.rng.pick(done)] : [];
        await Promise.all([
          ...pending.map(async (e) => {
            if (await this.probe(node, e)) e.converged.add(node.name);
          }),
          ...recheck.map((e) => this.probe(node, e)),
        ]);
      }),
    );
  }
}
