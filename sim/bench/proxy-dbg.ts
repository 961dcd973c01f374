import '../../src/polyfill.ts';
import { Router } from '../../src/proxy/router.ts';
import { benchRoute } from './proxy-snapshot.ts';
const svc = { id: 's', enabled: true, path: null } as any;
const routes = [];
for (let i = 0; i < 10000; i++) routes.push(benchRoute(i, 's', [`/svc${i}/api`], i % 10 === 0 ? [`h${i}.example.com`] : null));
const router: any = new Router(routes, () => svc);
const h = router.hostless;
console.log('always', h.always.length, 'complete', h.complete.size, 'partial', h.partial.size, [...h.complete.values()].reduce((m: number, l: any[]) => Math.max(m, l.length), 0));
const req = { method: 'GET', host: 'localhost', port: 8000, path: `/svc77/api/items/1`, headers: {} };
const c0 = process.cpuUsage();
for (let i = 0; i < 300000; i++) router.match(req);
const c = process.cpuUsage(c0); console.log(((c.user + c.system) * 1000) / 300000, 'ns same req');
const reqs = Array.from({ length: 1000 }, (_, i) => ({ method: 'GET', host: 'localhost', port: 8000, path: `/svc${(i * 7919) % 10000}/api/items/${i}`, headers: {} }));
const c1 = process.cpuUsage();
for (let i = 0; i < 300000; i++) router.match(reqs[i % 1000]);
const c2 = process.cpuUsage(c1); console.log(((c2.user + c2.system) * 1000) / 300000, 'ns 1000 reqs');
{
const segs = reqs.map((r) => r.path.slice(1, r.path.indexOf('/', 1)));
const c1 = process.cpuUsage();
let x = 0;
for (let i = 0; i < 300000; i++) if (router.hostless.complete.get(segs[i % 1000])) x++;
const c2 = process.cpuUsage(c1); console.log(((c2.user + c2.system) * 1000) / 300000, 'ns map get only', x);
const c3 = process.cpuUsage();
for (let i = 0; i < 300000; i++) { const p = reqs[i % 1000].path; const s = p.slice(1, p.indexOf('/', 1)); if (router.hostless.complete.get(s)) x++; }
const c4 = process.cpuUsage(c3); console.log(((c4.user + c4.system) * 1000) / 300000, 'ns slice + map get', x);
}
{
const reqs10 = Array.from({ length: 1000 }, (_, i) => ({ method: 'GET', host: 'localhost', port: 8000, path: `/svc${((i % 10) * 7919) % 10000 + 1}/api/items/${i}`, headers: {} }));
const c1 = process.cpuUsage();
for (let i = 0; i < 300000; i++) router.match(reqs10[i % 1000]);
const c2 = process.cpuUsage(c1); console.log(((c2.user + c2.system) * 1000) / 300000, 'ns 10k routes, 10 distinct routes hit');
}
