// Kong's prometheus plugin: counts requests and observes latencies in the log phase.
// Label children are cached per (service, route, code) so the hot path does no label hashing.
import type { ProxyContext } from '../../proxy/context.ts';
import type { PluginHandler, PluginInstance } from '../types.ts';
import { bandwidth, httpRequests, latency } from './metrics.ts';
import type { PrometheusConfig } from './schema.ts';

type Child = { inc(n?: number): void };
type HChild = { observe(v: number): void };

const handler: PluginHandler<PrometheusConfig> = {
  create(conf): PluginInstance {
    const counters = new Map<string, Child>();
    const hists = new Map<string, [HChild, HChild, HChild]>();
    const bw = new Map<string, [Child, Child]>();
    const names = (ctx: ProxyContext): [string, string] => [
      ctx.service ? ctx.service.name ?? ctx.service.id : '',
      ctx.route ? ctx.route.name ?? ctx.route.id : '',
    ];
    return {
      name: 'prometheus',
      log(ctx) {
        const [service, route] = names(ctx);
        const consumer = conf.per_consumer && ctx.consumer ? ctx.consumer.username ?? ctx.consumer.id : '';
        const source = ctx.exitStatus ? 'kong' : ctx.upstreamLatency >= 0 ? 'service' : 'kong';
        const key = conf.status_code_metrics ? `${service}\u0000${route}\u0000${ctx.status}\u0000${source}\u0000${consumer}` : '';
        if (conf.status_code_metrics) {
          let c = counters.get(key);
          if (!c) {
            c = httpRequests.labels(service, route, String(ctx.status), source, consumer);
            counters.set(key, c);
          }
          c.inc();
        }
        if (conf.latency_metrics) {
          const lk = `${service}\u0000${route}`;
          let h = hists.get(lk);
          if (!h) {
            h = [latency.labels(service, route, 'kong'), latency.labels(service, route, 'upstream'), latency.labels(service, route, 'request')];
            hists.set(lk, h);
          }
          const total = performance.now() - ctx.startedAt;
          if (ctx.proxyLatency >= 0) h[0].observe(ctx.proxyLatency);
          if (ctx.upstreamLatency >= 0) h[1].observe(ctx.upstreamLatency);
          h[2].observe(total);
        }
        if (conf.bandwidth_metrics) {
          const bk = `${service}\u0000${route}\u0000${consumer}`;
          let b = bw.get(bk);
          if (!b) {
            b = [bandwidth.labels(service, route, 'ingress', consumer), bandwidth.labels(service, route, 'egress', consumer)];
            bw.set(bk, b);
          }
          if (ctx.bytesIn) b[0].inc(ctx.bytesIn);
          if (ctx.bytesOut) b[1].inc(ctx.bytesOut);
        }
      },
    };
  },
};

export default handler;
