// `--net zones`: node namespaces in zones, a relay per node that delays by the sender's zone,
// iptables loss between zones, a real cluster that converges through it, and nothing left
// behind (namespaces, root rules, relays, nodes) after close() and after a SIGINT to the
// simulator. Root only (namespaces, iptables); CI runs as root.
import { execFile, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, expect, onTestFinished, test } from 'vitest';
import { SimCluster } from '../../sim/harness/cluster.ts';
import { leftoverNamespaces, leftoverRootState, type NetnsNode } from '../../sim/harness/netns.ts';
import { simPort } from '../../sim/harness/ports.ts';
import { ZonesNetwork } from '../../sim/harness/zones.ts';

const notRoot = process.getuid?.() !== 0;
const cleanups: (() => unknown)[] = [];
afterAll(async () => {
  for (const c of cleanups.reverse()) await c();
});

/** Running (a zombie waiting for its new parent to reap it counts as gone). */
const alive = (pid: number) => {
  try {
    return !/^\d+ \(.*\) Z/.test(fs.readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
};

/** The pids still running after up to 5 s: a SIGKILLed process takes a moment to be gone. */
async function survivors(pids: number[]): Promise<number[]> {
  const until = Date.now() + 5000;
  while (pids.some(alive) && Date.now() < until) await new Promise((r) => setTimeout(r, 100));
  return pids.filter(alive);
}

/** Run a snippet of JavaScript in a namespace and return its stdout. */
function runIn(wrap: string[], js: string, timeoutMs = 20_000): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(wrap[0]!, [...wrap.slice(1), process.execPath, '-e', js], { timeout: timeoutMs }, (err, out, stderr) => (err ? reject(new Error(`${err.message}: ${stderr}`)) : resolve(out.trim())));
  });
}

/** A long-running snippet in a namespace; resolves once it prints its first line. */
async function serveIn(wrap: string[], js: string): Promise<{ lines: string[] }> {
  const child = spawn(wrap[0]!, [...wrap.slice(1), process.execPath, '-e', js], { stdio: ['ignore', 'pipe', 'inherit'] });
  cleanups.push(() => child.kill('SIGKILL'));
  const lines: string[] = [];
  child.stdout.on('data', (d) => lines.push(...String(d).trim().split('\n')));
  await new Promise<void>((resolve, reject) => {
    child.stdout.once('data', () => resolve());
    child.once('exit', (code) => reject(new Error(`server in namespace exited (${code})`)));
  });
  return { lines };
}

/** Round trips (ms) of one byte over one connection, after connecting. */
async function roundTrips(wrap: string[], host: string, port: number, count = 8): Promise<number[]> {
  const js = `const s=require('net').connect({host:${JSON.stringify(host)},port:${port},noDelay:true});
    const out=[];let t;s.on('connect',()=>{t=performance.now();s.write('x')});
    s.on('data',()=>{out.push(performance.now()-t);if(out.length===${count}){console.log(JSON.stringify(out));process.exit(0)}t=performance.now();s.write('x')});
    s.on('error',e=>{console.error(e.message);process.exit(1)});`;
  return JSON.parse(await runIn(wrap, js)) as number[];
}

test.skipIf(notRoot)('a cross-zone round trip takes the configured delay, an in-zone one does not; loss drops its share across zones only', async () => {
  const nodes: NetnsNode[] = [];
  for (let i = 1; i <= 4; i++) nodes.push({ name: `n${i}`, ports: { proxy: await simPort(), admin: await simPort(), cluster: await simPort() } });
  const z = await ZonesNetwork.create({ nodes, hostPorts: [], zones: { zones: 2, inMs: 0.2, crossMs: 30, jitterMs: 5, loss: 0 } });
  // Now, not after all tests: a failure here must not leave namespaces the next test counts.
  onTestFinished(() => z.destroy());
  expect(nodes.map((n) => z.zoneOf(n.name))).toEqual([0, 0, 1, 1]);
  // An echo server where each node would listen: its namespace's 127.0.0.1, behind the relay.
  for (const n of nodes) await serveIn(z.wrap(n.name), `require('net').createServer(s=>{s.setNoDelay(true);s.pipe(s)}).listen(${n.ports.cluster},'127.0.0.1',()=>console.log('up'))`);
  const [n1, n2, n3] = nodes as [NetnsNode, NetnsNode, NetnsNode];

  const cross = await roundTrips(z.wrap(n1.name), z.host(n3.name), n3.ports.cluster);
  const inZone = await roundTrips(z.wrap(n1.name), z.host(n2.name), n2.ports.cluster);
  console.log(`round trips across zones ${cross.map((x) => x.toFixed(1)).join(" ")} ms; in a zone ${inZone.map((x) => x.toFixed(2)).join(" ")} ms`);
  // One way is 30 ± 5 ms, both ways are delayed: never under 2 × 25 ms (timers only fire late).
  expect(Math.min(...cross)).toBeGreaterThanOrEqual(2 * 25 - 1);
  expect(Math.min(...cross)).toBeGreaterThanOrEqual(30);
  // In a zone: no added delay, so a round trip does not take the configured delay (the median:
  // a loaded machine can stall one probe process for a while).
  expect([...inZone].sort((a, b) => a - b)[inZone.length >> 1]).toBeLessThan(30);

  await z.setLoss(0.2);
  expect(z.lossRules(n3.name)).toHaveLength(2); // from n1 and n2 only
  expect(z.lossRules(n3.name).join('\n')).toContain(z.host(n1.name));
  const udpPort = n3.ports.cluster; // UDP: the TCP echo server does not own it
  const sink = await serveIn(z.wrap(n3.name), `let c=0;const s=require('dgram').createSocket('udp4');s.on('message',()=>c++);
    s.bind(${udpPort},${JSON.stringify(z.host(n3.name))},()=>console.log('up'));setInterval(()=>console.log('count '+c),200)`);
  const SENT = 2000;
  // Paced in bursts of 50 so the receiver's buffer never overflows: only the rule drops.
  await runIn(z.wrap(n1.name), `const s=require('dgram').createSocket('udp4');let i=0;
    const burst=()=>{for(let k=0;k<50;k++)s.send('p'+i++,${udpPort},${JSON.stringify(z.host(n3.name))});if(i<${SENT})setTimeout(burst,5);else setTimeout(()=>process.exit(0),300)};burst();`);
  await new Promise((r) => setTimeout(r, 600));
  const received = Number(sink.lines.filter((l) => l.startsWith('count ')).at(-1)!.split(' ')[1]);
  console.log(`loss 0.2: ${SENT - received} of ${SENT} datagrams dropped`);
  // Binomial(2000, 0.2): mean 400 dropped, sd 17.9; ±8 sd cannot happen by chance (p < 1e-15).
  expect(SENT - received).toBeGreaterThan(400 - 143);
  expect(SENT - received).toBeLessThan(400 + 143);

  z.destroy();
  expect(leftoverNamespaces()).toEqual([]);
  expect(leftoverRootState()).toEqual([]);
  expect(await survivors(z.relayPids())).toEqual([]);
}, 60_000);

test.skipIf(notRoot)('a 4-node cluster in 2 zones converges through the relays; close() leaves nothing', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gossamer-sim-zones-'));
  cleanups.push(() => fs.rmSync(dir, { recursive: true, force: true }));
  const c = await SimCluster.start({ nodes: 4, dir, net: 'zones', zones: { zones: 2, crossMs: 20, jitterMs: 5, loss: 0.01 } });
  onTestFinished(() => c.stop().then(() => undefined));
  const relays = c.zones!.relayPids();
  const pids = c.nodes.map((n) => n.pid!);
  expect(relays).toHaveLength(4);
  expect(await c.waitFormed(30_000)).toBe(true);
  expect(await c.stop()).toEqual([]);
  expect(leftoverNamespaces()).toEqual([]);
  expect(leftoverRootState()).toEqual([]);
  expect(await survivors([...relays, ...pids])).toEqual([]);
}, 90_000);

test.skipIf(notRoot)('SIGINT to the simulator removes namespaces, rules, relays and nodes', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gossamer-sim-zones-int-'));
  cleanups.push(() => fs.rmSync(dir, { recursive: true, force: true }));
  const mod = fileURLToPath(new URL('../../sim/harness/cluster.ts', import.meta.url));
  const script = `import { SimCluster } from ${JSON.stringify(mod)};
    const c = await SimCluster.start({ nodes: 2, dir: ${JSON.stringify(dir)}, net: 'zones', zones: { zones: 2 } });
    console.log(JSON.stringify({ relays: c.zones.relayPids(), nodes: c.nodes.map((n) => n.pid) }));
    setInterval(() => {}, 1000);`;
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  cleanups.push(() => child.kill('SIGKILL'));
  const exited = new Promise((r) => child.once('exit', r));
  const started = await new Promise<{ relays: number[]; nodes: number[] }>((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
      if (out.includes('\n')) resolve(JSON.parse(out.split('\n')[0]!));
    });
    child.once('exit', (code) => reject(new Error(`simulator exited (${code}) before the cluster was up`)));
  });
  expect(leftoverNamespaces(child.pid)).toHaveLength(3); // hub + 2 nodes
  expect(started.relays.every(alive) && started.nodes.every(alive)).toBe(true);
  child.kill('SIGINT');
  await exited;
  expect(leftoverNamespaces(child.pid)).toEqual([]);
  expect(leftoverRootState(child.pid)).toEqual([]);
  expect(await survivors([...started.relays, ...started.nodes])).toEqual([]);
}, 90_000);
