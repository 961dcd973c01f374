// Which plugin instance runs for a request, by Kong's scoping precedence (most specific wins,
// one instance per plugin name): consumer+route+service > consumer+route > consumer+service >
// route+service > consumer > route > service > global. The consumer is only known after the
// auth plugins ran, so each chain entry keeps its consumer-specific instances aside.
import type { Plugin, Route, Service } from '../entities/types.ts';
import type { PluginEnv, PluginHandler, PluginInstance } from '../plugins/types.ts';
import { plugins as registry, validatePluginConfig } from '../plugins/registry.ts';
import { phasesOf, type ProxyContext } from './context.ts';

export interface ChainEntry {
  name: string;
  fallback: PluginInstance | null;
  byConsumer: Map<string, PluginInstance> | null;
  /** The entry's instances (any consumer's) that may read the body before access; null when none. */
  bodyReaders: PluginInstance[] | null;
}

interface Scoped {
  global: PluginInstance | null;
  service: Map<string, PluginInstance>;
  route: Map<string, PluginInstance>;
  routeService: Map<string, PluginInstance>;
  consumer: Map<string, PluginInstance>;
  consumerRoute: Map<string, PluginInstance>;
  consumerService: Map<string, PluginInstance>;
  consumerRouteService: Map<string, PluginInstance>;
  consumers: Set<string>;
}

const handlers = new Map<string, PluginHandler>();

/** Load every registered handler module once, before the first configuration is compiled. */
export async function loadPluginHandlers(): Promise<void> {
  await Promise.all(
    Object.values(registry).map(async (d) => {
      if (!handlers.has(d.name)) handlers.set(d.name, (await d.handler()) as PluginHandler);
    }),
  );
}

/**
 * A chain whose every entry runs the same instance whoever the consumer is keeps that list:
 * its requests share it as ctx.plugins (read-only) instead of building one each.
 */
type Chain = ChainEntry[] & { fixed?: PluginInstance[]; fixedPhases?: number };

export class PluginIndex {
  private readonly byName = new Map<string, Scoped>();
  private readonly order: string[];
  private readonly chains = new Map<string, ChainEntry[]>();
  readonly instances: PluginInstance[] = [];

  constructor(entities: Iterable<Plugin>, env: PluginEnv) {
    for (const p of entities) {
      if (p.enabled === false) continue;
      const handler = handlers.get(p.name);
      if (!handler) {
        env.logger.warn({ plugin: p.name, id: p.id }, 'plugin not available in this node; ignored');
        continue;
      }
      const checked = validatePluginConfig(p.name, p.config);
      if (!checked.ok) {
        env.logger.error({ plugin: p.name, id: p.id, fields: checked.fields }, 'invalid plugin config; ignored');
        continue;
      }
      let inst: PluginInstance;
      try {
        inst = handler.create(checked.config, env, p);
      } catch (err) {
        env.logger.error({ plugin: p.name, id: p.id, err }, 'plugin failed to build; ignored');
        continue;
      }
      this.instances.push(inst);
      let s = this.byName.get(p.name);
      if (!s) {
        s = {
          global: null,
          service: new Map(),
          route: new Map(),
          routeService: new Map(),
          consumer: new Map(),
          consumerRoute: new Map(),
          consumerService: new Map(),
          consumerRouteService: new Map(),
          consumers: new Set(),
        };
        this.byName.set(p.name, s);
      }
      const r = p.route?.id;
      const sv = p.service?.id;
      const c = p.consumer?.id;
      if (c) s.consumers.add(c);
      if (c && r && sv) s.consumerRouteService.set(`${c}|${r}|${sv}`, inst);
      else if (c && r) s.consumerRoute.set(`${c}|${r}`, inst);
      else if (c && sv) s.consumerService.set(`${c}|${sv}`, inst);
      else if (c) s.consumer.set(c, inst);
      else if (r && sv) s.routeService.set(`${r}|${sv}`, inst);
      else if (r) s.route.set(r, inst);
      else if (sv) s.service.set(sv, inst);
      else s.global = inst;
    }
    this.order = [...this.byName.keys()].sort((a, b) => (registry[b]?.priority ?? 0) - (registry[a]?.priority ?? 0));
  }

  get empty(): boolean {
    return this.order.length === 0;
  }

  /** The chain for a route/service pair; computed on first use and kept for this config. */
  chainFor(route: Route, service: Service | null): ChainEntry[] {
    const key = route.id;
    let chain = this.chains.get(key);
    if (chain) return chain;
    chain = [];
    const r = route.id;
    const sv = service?.id ?? '';
    for (const name of this.order) {
      const s = this.byName.get(name)!;
      const fallback = s.routeService.get(`${r}|${sv}`) ?? s.route.get(r) ?? s.service.get(sv) ?? s.global;
      let byConsumer: Map<string, PluginInstance> | null = null;
      for (const c of s.consumers) {
        const specific =
          s.consumerRouteService.get(`${c}|${r}|${sv}`) ?? s.consumerRoute.get(`${c}|${r}`) ?? s.consumerService.get(`${c}|${sv}`);
        const inst = specific ?? s.routeService.get(`${r}|${sv}`) ?? s.consumer.get(c) ?? s.route.get(r) ?? s.service.get(sv) ?? s.global;
        if (inst && inst !== fallback) (byConsumer ??= new Map()).set(c, inst);
      }
      if (!fallback && !byConsumer) continue;
      // Worked out once per chain, not per request: the consumer is unknown before access, so
      // a body is read when any consumer's instance may need it.
      const readers = [fallback, ...(byConsumer?.values() ?? [])].filter((i): i is PluginInstance => i?.needsBody !== undefined);
      chain.push({ name, fallback, byConsumer, bodyReaders: readers.length ? readers : null });
    }
    if (chain.every((e) => e.byConsumer === null)) {
      const fixed = chain.map((e) => e.fallback!);
      (chain as Chain).fixed = fixed;
      (chain as Chain).fixedPhases = fixed.reduce((bits, p) => bits | phasesOf(p), 0);
    }
    this.chains.set(key, chain);
    return chain;
  }

  /** Routes or services changed: chains are worked out again on next use; the instances stay. */
  forgetChains(): void {
    this.chains.clear();
  }

  close(): void {
    for (const i of this.instances) i.close?.();
  }
}

/**
 * Access phase over a chain. After a plugin answered the client no further access handler
 * runs, but, as in Kong, every plugin of the chain still takes part in header_filter,
 * body_filter and log for that answer (a response rewrite on an auth plugin's 401...).
 */
export function runAccess(ctx: ProxyContext, chain: ChainEntry[]): void | Promise<void> {
  const fixed = (chain as Chain).fixed;
  if (fixed !== undefined) {
    ctx.plugins = fixed;
    ctx.phases = (chain as Chain).fixedPhases!;
    return accessFrom(ctx, fixed, 0);
  }
  const ran: PluginInstance[] = [];
  ctx.plugins = ran;
  return accessChain(ctx, chain, ran, 0);
}

/** The per-consumer chain from `start`: each entry's instance is chosen once the consumer is known so far. */
function accessChain(ctx: ProxyContext, chain: ChainEntry[], ran: PluginInstance[], start: number): void | Promise<void> {
  for (let i = start; i < chain.length; i++) {
    const e = chain[i]!;
    const inst = e.byConsumer !== null && ctx.consumer !== null ? e.byConsumer.get(ctx.consumer.id) ?? e.fallback : e.fallback;
    if (inst === null) continue;
    ran.push(inst);
    ctx.phases |= phasesOf(inst);
    if (inst.access !== undefined && ctx.exitStatus === 0) {
      const waiting = inst.access(ctx);
      // A plugin that waits: the rest of the chain after it.
      if (waiting !== undefined) return waiting.then(() => accessChain(ctx, chain, ran, i + 1));
    }
  }
}

/** The access phase of `list` from `start`, continuing after any plugin that waits. */
function accessFrom(ctx: ProxyContext, list: PluginInstance[], start: number): void | Promise<void> {
  for (let i = start; i < list.length; i++) {
    const inst = list[i]!;
    if (inst.access !== undefined && ctx.exitStatus === 0) {
      const waiting = inst.access(ctx);
      if (waiting !== undefined) return waiting.then(() => accessFrom(ctx, list, i + 1));
    }
  }
}
