// `--net netns`: node namespaces joined on 127.201.K.0/24, partitions that drop packets (a black
// hole, not a refusal), the root's services still reachable, and nothing left behind, also when
// the simulator is interrupted or killed. Where namespaces are not available (not root, no `ip`),
// the mode must fail fast with a clear message instead: both branches assert something.
import { execFile, spawn, spawnSync } from 'node:child_process';
import net from 'node:net';
import { fileURLToPath } from 'node:url';
import { afterAll, expect, test } from 'vitest';
import { leftoverNamespaces, leftoverRootState, netnsUnavailable, NetnsNetwork, type NetnsNode } from '../../sim/harness/netns.ts';
import { describeViews, partitionViews } from '../../sim/harness/net-views.ts';
import { simPort } from '../../sim/harness/ports.ts';

const unavailable = netnsUnavailable();
const cleanups: (() => unknown)[] = [];
afterAll(async () => {
  for (const c of cleanups.reverse()) await c();
});

type Outcome = 'connected' | 'refused' | 'timeout';

/** Connect from inside a namespace (or from the root when `wrap` is empty), send a line, read it back. */
function probe(wrap: string[], host: string, port: number, timeoutMs = 1500): Promise<Outcome> {
  const js = `const s=require('net').connect({host:${JSON.stringify(host)},port:${port}});
    const t=setTimeout(()=>{console.log('timeout');process.exit(0)},${timeoutMs});
    s.on('connect',()=>s.write('ping\\n'));s.on('data',()=>{console.log('connected');process.exit(0)});
    s.on('error',e=>{console.log(e.code==='ECONNREFUSED'?'refused':'error '+e.code);process.exit(0)});`;
  const cmd = [...wrap, process.execPath, '-e', js];
  // Asynchronous: the root's test service answers from this very process.
  return new Promise((resolve, reject) => {
    execFile(cmd[0]!, cmd.slice(1), { timeout: timeoutMs + 10_000 }, (err, out) => (err ? reject(err) : resolve(out.trim() as Outcome)));
  });
}

/** An echo server in a node's namespace on its cluster address (stands for the node's libp2p port). */
async function echoIn(wrap: string[], host: string, port: number): Promise<void> {
  const js = `require('net').createServer(s=>s.pipe(s)).listen(${port},${JSON.stringify(host)},()=>console.log('up'))`;
  const child = spawn(wrap[0]!, [...wrap.slice(1), process.execPath, '-e', js], { stdio: ['ignore', 'pipe', 'inherit'] });
  cleanups.push(() => child.kill('SIGKILL'));
  await new Promise<void>((resolve, reject) => {
    child.stdout.once('data', () => resolve());
    child.once('exit', (code) => reject(new Error(`echo server in namespace exited (${code})`)));
  });
}

/** A root-namespace service on 127.0.0.1 (stands for a Postgres fault proxy / the upstream). */
async function rootService(): Promise<number> {
  const port = await simPort();
  const srv = net.createServer((s) => s.pipe(s));
  await new Promise<void>((r) => srv.listen(port, '127.0.0.1', () => r()));
  cleanups.push(() => new Promise((r) => srv.close(r)));
  return port;
}

async function nodes(n: number): Promise<NetnsNode[]> {
  const out: NetnsNode[] = [];
  for (let i = 1; i <= n; i++) out.push({ name: `n${i}`, ports: { proxy: await simPort(), admin: await simPort(), cluster: await simPort() } });
  return out;
}

if (unavailable) {
  test('without root or `ip netns`, --net netns fails fast and says why', async () => {
    expect(unavailable).toMatch(/^--net netns(: `.*` failed)? /);
    expect(unavailable).toMatch(/default mode/);
    expect(() => NetnsNetwork.create({ nodes: [], hostPorts: [] })).toThrow(unavailable);
    const r = spawnSync(process.execPath, ['bin/gossamer.js', 'sim', 'run', 'sim/scenarios/partition-heal.yaml', '--net', 'netns', '--quiet'], { encoding: 'utf8', timeout: 60_000 });
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('--net netns');
  });
} else {
  test('partition drops the cluster packets between groups (no refusal), keeps everything else, heal restores', async () => {
    const svc = await rootService();
    const ns = await nodes(3);
    const netw = NetnsNetwork.create({ nodes: ns, hostPorts: [svc] });
    cleanups.push(() => netw.destroy());
    for (const n of ns) await echoIn(netw.wrap(n.name), netw.host(n.name), n.ports.cluster);
    const [a, b, c] = ns as [NetnsNode, NetnsNode, NetnsNode];
    const from = (n: NetnsNode) => netw.wrap(n.name);

    // Before: nodes reach each other, the root reaches them, they reach the root's 127.0.0.1 services.
    expect(await probe(from(a), netw.host(b.name), b.ports.cluster)).toBe('connected');
    expect(await probe([], netw.host(a.name), a.ports.cluster)).toBe('connected');
    expect(await probe(from(a), '127.0.0.1', svc)).toBe('connected');
    // A port of the root that is not a service port stays inside the namespace: refused there.
    expect(await probe(from(a), '127.0.0.1', svc + 1)).toBe('refused');

    expect(await netw.partition([[a.name, b.name], [c.name]])).toEqual([]);
    expect(netw.rules(c.name)).toHaveLength(8);
    expect(netw.rules(a.name)).toHaveLength(4);
    // Across the cut: no answer at all, in both directions (a black hole, not ECONNREFUSED).
    expect(await probe(from(a), netw.host(c.name), c.ports.cluster)).toBe('timeout');
    expect(await probe(from(c), netw.host(b.name), b.ports.cluster)).toBe('timeout');
    // Within a side, from the root, and to the root's services: untouched.
    expect(await probe(from(a), netw.host(b.name), b.ports.cluster)).toBe('connected');
    expect(await probe([], netw.host(c.name), c.ports.cluster)).toBe('connected');
    expect(await probe(from(c), '127.0.0.1', svc)).toBe('connected');

    expect(await netw.heal()).toEqual([]);
    expect(netw.rules(c.name)).toEqual([]);
    expect(await probe(from(a), netw.host(c.name), c.ports.cluster)).toBe('connected');

    netw.destroy();
    expect(leftoverNamespaces()).toEqual([]);
    expect(leftoverRootState()).toEqual([]);
  }, 60_000);

  test('an interrupted simulator removes its namespaces; a killed one is swept by the next run', async () => {
    const mod = fileURLToPath(new URL('../../sim/harness/netns.ts', import.meta.url));
    const script = `import { NetnsNetwork } from ${JSON.stringify(mod)};
      NetnsNetwork.create({ nodes: [{ name: 'n1', ports: { proxy: 1, admin: 2, cluster: 3 } }], hostPorts: [] });
      console.log('built'); setInterval(() => {}, 1000);`;
    const run = () => {
      const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
      cleanups.push(() => child.kill('SIGKILL'));
      return new Promise<number>((resolve, reject) => {
        child.stdout.once('data', () => resolve(child.pid!));
        child.once('exit', (code) => reject(new Error(`network script exited (${code})`)));
      }).then((pid) => ({ pid, exited: new Promise((r) => child.once('exit', r)) }));
    };

    const interrupted = await run();
    expect(leftoverNamespaces(interrupted.pid)).toHaveLength(2);
    process.kill(interrupted.pid, 'SIGINT');
    await interrupted.exited;
    expect(leftoverNamespaces(interrupted.pid)).toEqual([]);
    expect(leftoverRootState(interrupted.pid)).toEqual([]);

    const killed = await run();
    process.kill(killed.pid, 'SIGKILL');
    await killed.exited;
    expect(leftoverNamespaces(killed.pid)).toHaveLength(2);
    expect(leftoverRootState(killed.pid)).toHaveLength(2);
    // The next network built on this machine sweeps what the dead simulator left.
    NetnsNetwork.create({ nodes: [], hostPorts: [] }).destroy();
    expect(leftoverNamespaces(killed.pid)).toEqual([]);
    expect(leftoverRootState(killed.pid)).toEqual([]);
  }, 60_000);
}

test('partition views: time to suspect/failed per cut pair, back to alive after the heal', () => {
  const members = (node: string, t: number, st: Record<string, string>) => ({ kind: 'members', node, ok: true, t, members: Object.entries(st).map(([name, status]) => ({ name, status })) });
  const events = [
    members('n1', 900, { n2: 'alive' }),
    { kind: 'fault', op: 'partition', at: 1, t: 1000, groups: [['n1'], ['n2']] },
    members('n1', 1400, { n2: 'suspect' }),
    members('n2', 1500, { n1: 'alive' }),
    members('n1', 2200, { n2: 'failed' }),
    members('n2', 2600, { n1: 'suspect' }),
    { kind: 'fault', op: 'heal', at: 3, t: 3000 },
    members('n1', 3300, { n2: 'alive' }),
    members('n2', 3500, { n1: 'alive' }),
  ];
  const [v] = partitionViews(events);
  expect(v!.pairs).toEqual([
    { observer: 'n1', peer: 'n2', suspectMs: 400, failedMs: 1200, aliveMs: 300 },
    // n2 never saw n1 failed before the heal: judged as never, not as the later samples.
    { observer: 'n2', peer: 'n1', suspectMs: 1600, aliveMs: 500 },
  ]);
  expect(describeViews([v!])[0]).toBe('partition n1 | n2 at 1 s: n1 saw the others failed after 1200 ms, n2 never saw all the others failed; alive everywhere 500 ms after the heal');
});
