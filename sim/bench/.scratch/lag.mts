import '../../../src/polyfill.ts';
import { randomUUID } from 'node:crypto';
import pino from 'pino';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { generateKeyPair } from '@libp2p/crypto/keys';
import { pskFromSecret, startCluster } from '../../../src/cluster/index.ts';
import { freePort } from '../../../src/db/embedded.ts';
const h = monitorEventLoopDelay({ resolution: 10 }); h.enable();
const psk = pskFromSecret('5e'.repeat(32));
const n = Number(process.argv[2] ?? 10);
let seed = '';
const cs = [];
for (let i = 0; i < n; i++) {
  const port = await freePort(); if (!i) seed = `127.0.0.1:${port}`;
  const t = performance.now();
  cs.push(await startCluster({ nodeId: randomUUID(), nodeName: 'm'+i, role: 't', version: 'b', prefix: '/tmp', listen: [{host:'127.0.0.1',port}], advertise: null, peers: i ? [seed] : [], psk, logger: pino({level:'silent'}), privateKey: await generateKeyPair('Ed25519'), settings: { connection_ping_interval_ms: 10000 } }));
  console.log('start', i, Math.round(performance.now()-t), 'lag p99', Math.round(h.percentile(99)/1e6), 'max', Math.round(h.max/1e6)); h.reset();
}
for (let k = 0; k < 5; k++) { const c0 = process.cpuUsage(); await new Promise(r => setTimeout(r, 2000)); const c = process.cpuUsage(c0); console.log('cpu%', Math.round((c.user+c.system)/20000), 'lag p50', Math.round(h.percentile(50)/1e6), 'p99', Math.round(h.percentile(99)/1e6), 'max', Math.round(h.max/1e6), 'conns', cs.map(c => c.libp2p.getConnections().length).join(',')); h.reset(); }
process.exit(0);
