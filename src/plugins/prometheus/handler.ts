// Kong's prometheus plugin: counts requests and observes latencies in the log phase.
// The metric children of a route are looked up once and kept beside the route object (a
// changed route or service is a new object), so a request does no label work at all.
import type { Route, Service } from '../../entities/types.ts';
import type { ProxyContext } from '../../proxy/context.ts';
import type { PluginHandler, PluginInstance } from '../types.ts';
import type { CounterChild, HistogramChild } from './fast-metrics.ts';
import { bandwidth, httpRequests, latency } from './metrics.ts';
import type { PrometheusConfig } from './schema.ts';

/** One route's children: counters by status code (the common, consumer-less case) and by key. */
interface RouteMetrics {
  service: Service | null;
  serviceName: string;
  routeName: string;
  fromService: Map<number, CounterChild>;
  fromKong: Map<number, CounterChild>;
  other: Map<string, CounterChild>;
  latency: [HistogramChild, HistogramChild, HistogramChild] | null;
  bandwidth: Map<string, [CounterChild, CounterChild]>;
}

function requestsChild(m: RouteMetrics, status: number, source: string, consumer: string): CounterChild {
  return httpRequests.child({ service: m.serviceName, route: m.routeName, code: String(status), source, consumer });
}

const handler: PluginHandler<PrometheusConfig> = {
  create(conf): PluginInstance {
    const byRoute = new WeakMap<Route, RouteMetrics>();
    let noRoute: RouteMetrics | null = null;
    const metricsOf = (ctx: ProxyContext): RouteMetrics => {
      const route = ctx.route;
      let m = route ? byRoute.get(route) : noRoute;
      if (m && m.service === ctx.service) return m;
      m = {
        service: ctx.service,
        serviceName: ctx.service ? ctx.service.name ?? ctx.service.id : '',
        routeName: route ? route.name ?? route.id : '',
        fromService: new Map(),
        fromKong: new Map(),
        other: new Map(),
        latency: null,
        bandwidth: new Map(),
      };
      if (route) byRoute.set(route, m);
      else noRoute = m;
      return m;
    };
    return {
      name: 'prometheus',
      log(ctx) {
        const m = metricsOf(ctx);
        const consumer = conf.per_consumer && ctx.consumer ? ctx.consumer.username ?? ctx.consumer.id : '';
        if (conf.status_code_metrics) {
          const source = ctx.exitStatus ? 'kong' : ctx.upstreamLatency >= 0 ? 'service' : 'kong';
          const status = ctx.status;
          let c: CounterChild | undefined;
          if (consumer === '') {
            const byCode = source === 'service' ? m.fromService : m.fromKong;
            c = byCode.get(status);
            if (!c) byCode.set(status, (c = requestsChild(m, status, source, consumer)));
          } else {
            const key = `${status}\u0000${source}\u0000${consumer}`;
            c = m.other.get(key);
            if (!c) m.other.set(key, (c = requestsChild(m, status, source, consumer)));
          }
          c.inc();
        }
        if (conf.latency_metrics) {
          const h = (m.latency ??= [
            latency.child({ service: m.serviceName, route: m.routeName, type: 'kong' }),
            latency.child({ service: m.serviceName, route: m.routeName, type: 'upstream' }),
            latency.child({ service: m.serviceName, route: m.routeName, type: 'request' }),
          ]);
          if (ctx.proxyLatency >= 0) h[0].observe(ctx.proxyLatency);
          if (ctx.upstreamLatency >= 0) h[1].observe(ctx.upstreamLatency);
          h[2].observe(performance.now() - ctx.startedAt);
        }
        if (conf.bandwidth_metrics) {
          let b = m.bandwidth.get(consumer);
          if (!b) {
            b = [
              bandwidth.child({ service: m.serviceName, route: m.routeName, direction: 'ingress', consumer }),
              bandwidth.child({ service: m.serviceName, route: m.routeName, direction: 'egress', consumer }),
            ];
            m.bandwidth.set(consumer, b);
          }
          if (ctx.bytesIn) b[0].inc(ctx.bytesIn);
          if (ctx.bytesOut) b[1].inc(ctx.bytesOut);
        }
      },
    };
  },
};

export default handler;
