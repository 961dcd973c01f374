// The compiled configuration a proxy serves from: entity store → router, plugin chains and
// balancers. Changes are applied to the store at once; the derived parts follow on the next
// turn of the event loop (every change read in one go is handled together), and under a burst
// at most once per `debounceMs`. The router is updated one route at a time; the other parts
// are rebuilt whole and swapped in with a single assignment, the previous ones serving until then.
import type { Logger } from 'pino';
import { EntityStore } from '../cache/entity-store.ts';
import type { ChangeEvent, ConfigSnapshot, EntityName } from '../entities/types.ts';
import type { CounterStore } from '../plugins/types.ts';
import { Balancers } from './balancer/index.ts';
import { PluginIndex } from './plugin-chain.ts';
import { Router } from './router.ts';
import { traceChanges, tracingChanges } from '../sync/trace.ts';

export interface RuntimeOptions {
  logger: Logger;
  counters: CounterStore;
  /** The other proxy workers of the node, for plugins (PluginEnv.tellSiblings). */
  tellSiblings?: (plugin: string, msg: unknown) => void;
  /** Under a burst of changes, at most one rebuild per this many ms (a lone change is applied at once). */
  debounceMs?: number;
}

export class ProxyRuntime {
  readonly store = new EntityStore();
  readonly balancers = new Balancers();
  router: Router;
  plugins: PluginIndex;
  private pending = new Set<EntityName>();
  private changedRoutes = new Set<string>();
  private changedServices = new Set<string>();
  private timer: NodeJS.Timeout | NodeJS.Immediate | null = null;
  private lastRebuildAt = -Infinity;
  private waiters: (() => void)[] = [];
  private readonly debounceMs: number;

  constructor(private readonly opts: RuntimeOptions) {
    this.debounceMs = opts.debounceMs ?? 5;
    this.router = new Router([], () => null);
    this.plugins = new PluginIndex([], this.env());
  }

  private env() {
    return { store: this.store, counters: this.opts.counters, logger: this.opts.logger, tellSiblings: this.opts.tellSiblings };
  }

  /** Replace the whole configuration and rebuild now. */
  loadSnapshot(snapshot: ConfigSnapshot): void {
    this.store.load(snapshot);
    this.cancel();
    this.rebuild(new Set(['routes', 'services', 'plugins', 'upstreams', 'targets']), true);
  }

  /** Apply change events (the one entry point the cluster and the primary use). */
  applyChanges(events: ChangeEvent[]): void {
    if (!events.length) return;
    traceChanges('worker', events);
    // Once this call has scheduled the rebuild (a microtask later), settled() waits for it.
    if (tracingChanges) queueMicrotask(() => void this.settled().then(() => traceChanges('router', events)));
    this.store.apply(events);
    for (const e of events) {
      this.pending.add(e.entity);
      if (e.entity === 'routes') this.changedRoutes.add(e.entity_id);
      else if (e.entity === 'services') this.changedServices.add(e.entity_id);
    }
    if (this.timer) return;
    const wait = this.lastRebuildAt + this.debounceMs - performance.now();
    const flush = () => {
      this.timer = null;
      const kinds = this.pending;
      this.pending = new Set();
      this.rebuild(kinds, false);
    };
    // setImmediate, not a timer: the IPC messages that arrived together are all read first.
    this.timer = wait > 0 ? setTimeout(flush, wait) : setImmediate(flush);
  }

  private cancel(): void {
    if (this.timer) {
      clearTimeout(this.timer as NodeJS.Timeout);
      clearImmediate(this.timer as NodeJS.Immediate);
    }
    this.timer = null;
    this.pending.clear();
    this.changedRoutes.clear();
    this.changedServices.clear();
  }

  /** Resolves once every change applied so far is live (tests, readiness). */
  settled(): Promise<void> {
    if (!this.timer) return Promise.resolve();
    return new Promise((r) => this.waiters.push(r));
  }

  private rebuild(kinds: Set<EntityName>, full: boolean): void {
    const started = performance.now();
    this.lastRebuildAt = started;
    const routes = this.changedRoutes;
    const services = this.changedServices;
    this.changedRoutes = new Set();
    this.changedServices = new Set();
    try {
      if (full || routes.size || services.size) this.updateRouter(full, routes, services);
      if (full || kinds.has('plugins') || kinds.has('consumers')) {
        const old = this.plugins;
        this.plugins = new PluginIndex(this.store.all('plugins'), this.env());
        old.close();
      } else if (routes.size || services.size) {
        // Chains are kept per route: a route moved to another service needs its chain again,
        // not every plugin instance rebuilt.
        this.plugins.forgetChains();
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

  private updateRouter(full: boolean, routes: Set<string>, services: Set<string>): void {
    const table = this.store.tables.services;
    const serviceOf = (r: { service: { id: string } | null }) => (r.service ? table.get(r.service.id) : null);
    if (!full) {
      try {
        this.router.update(routes, services, (id) => this.store.get('routes', id), serviceOf);
        return;
      } catch (err) {
        // The index may be half updated: start over from the store.
        this.opts.logger.error({ err }, 'incremental router update failed; rebuilding the router');
      }
    }
    this.router = new Router(this.store.all('routes'), serviceOf);
  }

  close(): void {
    this.cancel();
    this.balancers.stop();
    this.plugins.close();
  }
}
