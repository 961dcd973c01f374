import '../../src/polyfill.ts';
import { Router } from '../../src/proxy/router.ts';
import { benchRoute } from './proxy-snapshot.ts';
const svc = { id: 's', enabled: true, path: null } as any;
for (const n of (process.env.N ? [Number(process.env.N)] : [10, 10000])) {
  const routes = [];
  for (let i = 0; i < n; i++) routes.push(benchRoute(i, 's', [`/svc${i}/api`], i % 10 === 0 ? [`h${i}.example.com`] : null));
  const router = new Router(routes, () => svc);
  const reqs = Array.from({ length: 1000 }, (_, i) => ({ method: 'GET', host: 'localhost', port: 8000, path: `/svc${(i * 7919) % n}/api/items/${i}`, headers: {} }));
  let hit = 0;
  const c0 = process.cpuUsage();
  for (let i = 0; i < 300000; i++) if (router.match(reqs[i % 1000]!)) hit++;
  const c = process.cpuUsage(c0); console.log(n, ((c.user + c.system) * 1000) / 300000, "ns cpu", hit);
}
