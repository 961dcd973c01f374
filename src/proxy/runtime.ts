// The compiled configuration a proxy serves from: entity store → router, plugin chains and
// balancers. Changes are applied to the store at once and the derived parts are rebuilt a few
// milliseconds later in one go (debounced); the previous router keeps serving until the new
// one is swapped in, which is a single assignment.
import type { Logger } from 'pino';
import { EntityStore } from '../cache/entity-store.ts';
import type { ChangeEvent, ConfigSnapshot, EntityName } from '../entities/types.ts';
import type { CounterStore } from '../plugins/types.ts';
import { Balancers } from './balancer/index.ts';
import { PluginIndex } from './plugin-chain.ts';
import { Router } from './router.ts';

export interface RuntimeOptions {
  logger: Logger;
  counters: CounterStore;
  /** Delay before rebuilding after a change (ms); batches bursts of events. */
  debounceMs?: number;
}

export class ProxyRuntime {
  readonly store = new EntityStore();
  readonly balancers = new Balancers();
  router: Router;
  plugins: PluginIndex;
  private pending = new Set<EntityName>();
  private timer: NodeJS.Timeout | null = null;
  private waiters: (() => void)[] = [];
  private readonly debounceMs: number;

  constructor(private readonly opts: RuntimeOptions) {
    this.debounceMs = opts.debounceMs ?? 5;
    this.router = new Router([], () => null);
    this.plugins = new PluginIndex([], this.env());
  }

  private env() {
    return { store: this.store, counters: this.opts.counters, logger: this.opts.logger };
  }

  /** Replace the whole configuration and rebuild now. */
  loadSnapshot(snapshot: ConfigSnapshot): void {
    this.store.load(snapshot);
    this.pending.clear();
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.rebuild(new Set(['routes', 'services', 'plugins', 'upstreams', 'targets']));
  }

  /** Apply change events (the one entry point the cluster and the primary use). */
  applyChanges(events: ChangeEvent[]): void {
    if (!events.length) return;
    this.store.apply(events);
    for (const e of events) this.pending.add(e.entity);
    if (this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      const kinds = this.pending;
      this.pending = new Set();
      this.rebuild(kinds);
    }, this.debounceMs);
  }

  /** Resolves once every change applied so far is live (tests, readiness). */
  settled(): Promise<void> {
    if (!this.timer) return Promise.resolve();
    return new Promise((r) => this.waiters.push(r));
  }

  private rebuild(kinds: Set<EntityName>): void {
    const started = performance.now();
    try {
      if (kinds.has('routes') || kinds.has('services')) {
        const services = this.store.tables.services;
        this.router = new Router(this.store.all('routes'), (r) => (r.service ? services.get(r.service.id) : null));
      }
      if (kinds.has('plugins') || kinds.has('consumers') || kinds.has('routes') || kinds.has('services')) {
        const old = this.plugins;
        this.plugins = new PluginIndex(this.store.all('plugins'), this.env());
        old.close();
      }
      if (kinds.has('upstreams') || kinds.has('targets')) this.balancers.rebuild(this.store);
      this.opts.logger.debug({ kinds: [...kinds], ms: Math.round(performance.now() - started), version: this.store.version }, 'proxy config rebuilt');
    } catch (err) {
      this.opts.logger.error({ err, kinds: [...kinds] }, 'proxy config rebuild failed; previous config keeps serving');
    }
    const w = this.waiters;
    this.waiters = [];
    for (const r of w) r();
  }

  close(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.balancers.stop();
    this.plugins.close();
  }
}
