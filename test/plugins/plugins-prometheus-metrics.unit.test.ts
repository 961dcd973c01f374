// The prometheus plugin's own counter/histogram children must read exactly as prom-client's
// own metrics do, in one process and merged across workers (AggregatorRegistry).
import { AggregatorRegistry, Counter, Histogram, Registry } from 'prom-client';
import { expect, test } from 'vitest';
import { FastCounter, FastHistogram } from '../../src/plugins/prometheus/fast-metrics.ts';

const BUCKETS = [1, 2, 5, 10];
const observations = [0.5, 1, 1.5, 4.2, 9.99, 10, 11, 250];

function both(): { fast: Registry; ref: Registry } {
  const fast = new Registry();
  const fc = new FastCounter({ name: 'x_requests_total', help: 'h', labelNames: ['service', 'code'] as const, registry: fast });
  const fh = new FastHistogram('x_latency_ms', 'l', BUCKETS, fast);
  const ref = new Registry();
  const rc = new Counter({ name: 'x_requests_total', help: 'h', labelNames: ['service', 'code'] as const, registers: [ref] });
  const rh = new Histogram({ name: 'x_latency_ms', help: 'l', labelNames: ['service', 'type'] as const, buckets: BUCKETS, registers: [ref] });
  const ok = fc.child({ service: 's', code: '200' });
  const ko = fc.child({ service: 's', code: '503' });
  for (let i = 0; i < 5; i++) ok.inc();
  ko.inc(3);
  rc.inc({ service: 's', code: '200' }, 5);
  rc.inc({ service: 's', code: '503' }, 3);
  // A child asked for twice is the same series.
  fc.child({ service: 's', code: '200' }).inc();
  rc.inc({ service: 's', code: '200' });
  const h = fh.child({ service: 's', type: 'request' });
  fh.child({ service: 's', type: 'unused' }); // never observed: not listed, as in prom-client
  for (const v of observations) {
    h.observe(v);
    rh.observe({ service: 's', type: 'request' }, v);
  }
  return { fast, ref };
}

test('text exposition matches prom-client line for line', async () => {
  const { fast, ref } = both();
  const text = await fast.metrics();
  expect(text).toBe(await ref.metrics());
  expect(text).toContain('x_latency_ms_bucket{le="+Inf",service="s",type="request"} 8');
  expect(text).toContain('x_requests_total{service="s",code="200"} 6');
  // Counts handed over are not counted twice on the next read.
  expect(await fast.metrics()).toBe(await ref.metrics());
});

test('workers merged by AggregatorRegistry read as prom-client metrics merged the same way', async () => {
  const a = both();
  const b = both();
  const merged = AggregatorRegistry.aggregate([await a.fast.getMetricsAsJSON(), await b.fast.getMetricsAsJSON()]);
  const expected = AggregatorRegistry.aggregate([await a.ref.getMetricsAsJSON(), await b.ref.getMetricsAsJSON()]);
  const text = await merged.metrics();
  expect(text).toBe(await expected.metrics());
  expect(text).toContain('x_latency_ms_sum{service="s",type="request"} ' + 2 * observations.reduce((s, x) => s + x, 0));
});
