import '../../src/polyfill.ts';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { SimCluster } from '../harness/cluster.ts';
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lat-'));
const c = await SimCluster.start({ nodes: 3, dir, config: { db_update_frequency: 60, log_level: 'warn' } });
await c.waitFormed();
const post = async (n: any, url: string, body: any) => { const r = await fetch(n.adminUrl + url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }); const t = await r.text(); if (r.status >= 300) throw new Error(t); return JSON.parse(t); };
await post(c.nodes[0], '/services', { name: 'svc', url: `http://127.0.0.1:${c.upstream.port}` });
await new Promise((r) => setTimeout(r, 1000));
for (let i = 0; i < 15; i++) {
  const w = c.nodes[i % 3]!;
  const t0 = performance.now();
  await post(w, '/services/svc/routes', { name: `r${i}`, paths: [`/r${i}`] });
  const t1 = performance.now();
  const per = await Promise.all(c.nodes.map(async (n) => {
    let st = -1, px = -1;
    for (;;) {
      const now = performance.now() - t1;
      if (st < 0) { const s = await (await fetch(n.adminUrl + '/status')).json() as any; if (JSON.stringify(s).includes(`"config_version":${i + 2}`)) st = now; }
      if (px < 0) { const r = await fetch(n.proxyUrl + `/r${i}`); await r.text(); if (r.status === 200) px = performance.now() - t1; }
      if (st >= 0 && px >= 0) return `${n.name}:st=${st.toFixed(1)} px=${px.toFixed(1)}`;
      if (now > 5000) return `${n.name}: timeout st=${st} px=${px}`;
    }
  }));
  console.log(`write ${i} on ${w.name}: admin ${(t1 - t0).toFixed(1)} ms; ${per.join('  ')}`);
  await new Promise((r) => setTimeout(r, 200));
}
await c.stop();
fs.rmSync(dir, { recursive: true, force: true });
process.exit(0);
