// `node --import tsx sim/bench/router-update.ts`: what one route change costs a proxy's
// router, incremental update against a full rebuild, at 100 / 1,000 / 10,000 routes. Prints
// microseconds per change (median of many); no assertions, a measurement only.
import '../../src/polyfill.ts';
import type { Route, Service } from '../../src/entities/types.ts';
import { Router } from '../../src/proxy/router.ts';

const svc: Service = {
  id: 's1', name: 's1', protocol: 'http', host: '127.0.0.1', port: 80, path: null, retries: 5,
  connect_timeout: 1000, write_timeout: 1000, read_timeout: 1000, enabled: true, tags: null, created_at: 1, updated_at: 1,
};

function route(i: number, version = 0): Route {
  return {
    id: `r${i}`, name: `r${i}`, protocols: ['http', 'https'], methods: i % 3 === 0 ? ['GET'] : null,
    hosts: i % 4 === 0 ? [`h${i % 50}.example.com`] : null,
    paths: i % 10 === 0 ? [`~/re${i}/(?<id>\\d+)$`] : [`/p${i}/v${version}`],
    headers: null, https_redirect_status_code: 426, regex_priority: i % 7, strip_path: true, path_handling: 'v0',
    preserve_host: false, request_buffering: true, response_buffering: true, snis: null, sources: null, destinations: null,
    service: { id: 's1' }, tags: null, created_at: i, updated_at: i,
  };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

for (const n of [100, 1000, 10_000]) {
  const routes = new Map<string, Route>();
  for (let i = 0; i < n; i++) routes.set(`r${i}`, route(i));
  const serviceOf = () => svc;
  const router = new Router(routes.values(), serviceOf);
  const reps = n >= 10_000 ? 50 : 300;
  const full: number[] = [];
  const inc: number[] = [];
  for (let k = 0; k < reps; k++) {
    const i = (k * 7919) % n;
    routes.set(`r${i}`, route(i, k + 1));
    let t = performance.now();
    router.update([`r${i}`], [], (id) => routes.get(id), serviceOf);
    inc.push(performance.now() - t);
    t = performance.now();
    new Router(routes.values(), serviceOf);
    full.push(performance.now() - t);
  }
  const us = (ms: number) => (ms * 1000).toFixed(0).padStart(8);
  console.log(`${String(n).padStart(6)} routes: one change, incremental ${us(median(inc))} µs   full rebuild ${us(median(full))} µs`);
}
