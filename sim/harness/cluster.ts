// The simulated cluster: embedded Postgres (bootstrapped), one TCP fault proxy per node in
// front of it, N real node processes, a sample upstream and the load balancer of `gossamer up`.
// In hybrid mode the N nodes are data planes and a control plane owns Postgres instead.
import fs from 'node:fs';
import path from 'node:path';
import { startEmbeddedPostgres, type EmbeddedPg } from '../../src/db/embedded.ts';
import { pgDataPlace, postgresIds, type PgDataPlace } from '../../src/db/pg-server.ts';
import { startBalancer, type Balancer } from '../../src/up/balancer.ts';
import type { NodeState } from '../history.ts';
import { bootstrapSchema } from './schema.ts';
import { startFaultProxy, type FaultProxy } from './fault-proxy.ts';
import { hybridNodes } from './hybrid-nodes.ts';
import { NetnsNetwork, netnsUnavailable } from './netns.ts';
import { SimNode, sleep } from './node-process.ts';
import { simPort } from './ports.ts';
import { stillListening, trackPostgres } from './reaper.ts';
import { startUpstream, type Upstream } from './upstream.ts';
import { ZonesNetwork, type ZoneOptions } from './zones.ts';


export interface ClusterOptions {
  nodes: number;
  /** Everything goes under here: pg data, node prefixes, config files, logs. */
  dir: string;
  /** Extra config keys for every node, and per node (kong.conf names). */
  config?: Record<string, string | number | boolean>;
  nodeConfig?: Record<string, Record<string, string | number | boolean>>;
  /** One control plane with Postgres and `nodes` data planes (database = off) behind the balancer. */
  hybrid?: boolean;
  /**
   * How partitions cut: the nodes' connection gater (default) or packet drops between network
   * namespaces (`netns`; `zones` adds latency and loss between groups of namespaces).
   */
  net?: 'gater' | 'netns' | 'zones';
  /** `net: 'zones'`: zone count, delays and loss (defaults in zones.ts). */
  zones?: Partial<ZoneOptions>;
  onState?: (node: string, state: NodeState, crashed?: string) => void;
  log?: (line: string) => void;
  /**
   * Runs once the first node (the control plane in hybrid mode) is up and before the others
   * start, so that every other node finds this configuration when it boots (even one whose
   * gossip is off).
   */
  setup?: (first: SimNode, cluster: SimCluster) => Promise<void>;
  /** Start the nodes after the first this many at a time (default: all at once). */
  startBatch?: number;
  /** How long each node may take to answer /status and its proxy after its start (SimNode's default: 90 s). */
  readyTimeoutMs?: number;
}

export const SERVED_BY = 'x-sim-served-by';

/** The Postgres data directory a simulated cluster in `dir` asks for. */
export function simPgDir(dir: string): string {
  return path.join(dir, 'pg');
}

/** Where that data really goes (as root, out of a directory the postgres user cannot reach). */
export async function simPgPlace(dir: string): Promise<PgDataPlace> {
  return pgDataPlace(simPgDir(dir), await postgresIds());
}

export class SimCluster {
  /** The nodes behind the balancer: every node, or the data planes in hybrid mode. */
  nodes: SimNode[] = [];
  cp: SimNode | undefined;
  pg!: EmbeddedPg;
  pgPort = 0;
  upstream!: Upstream;
  lb!: Balancer;
  proxies = new Map<string, FaultProxy>();
  groups: string[][] | undefined;
  /** `--net netns`: the nodes' namespaces; partitions drop packets there. */
  network: NetnsNetwork | undefined;
  /** `--net zones`: the same namespaces, plus the zone relays and loss rules. */
  zones: ZonesNetwork | undefined;
  private untrackPg: (() => void) | undefined;
  private readonly ports: number[] = [];
  private readonly log: (line: string) => void;

  private constructor(private readonly opts: ClusterOptions) {
    this.log = opts.log ?? (() => {});
  }

  static async start(opts: ClusterOptions): Promise<SimCluster> {
    const c = new SimCluster(opts);
    try {
      await c.boot();
    } catch (err) {
      await c.stop().catch(() => {});
      throw err;
    }
    return c;
  }

  node(name: string): SimNode {
    const n = this.nodes.find((x) => x.name === name);
    if (!n) throw new Error(`no node named ${name} (have ${this.nodes.map((x) => x.name).join(', ')})`);
    return n;
  }

  /** The control plane, for the nemesis's cp-loss / cp-restore. */
  controlPlane(op: string): SimNode {
    if (!this.cp) throw new Error(`${op}: this run has no control plane (set hybrid: true in the scenario)`);
    return this.cp;
  }

  async startControlPlane(): Promise<void> {
    await this.controlPlane('cp-restore').start();
  }

  private get pgDir(): string {
    return simPgDir(this.opts.dir);
  }

  private async startPg(): Promise<void> {
    this.pg = await startEmbeddedPostgres({ dir: this.pgDir, port: this.pgPort || (await simPort()), persistent: true });
    this.pgPort = this.pg.port;
    // The data directory in use: pgDataPlace() may have moved it out of a 0700 --out as root.
    this.untrackPg = trackPostgres(this.pg.dir);
  }

  private async boot(): Promise<void> {
    if (this.opts.net === 'netns' || this.opts.net === 'zones') {
      const why = netnsUnavailable() ?? (this.opts.hybrid ? `--net ${this.opts.net} runs DB-mode scenarios only; hybrid scenarios use the default mode (no --net)` : undefined);
      if (why) throw new Error(why);
    }
    fs.mkdirSync(this.opts.dir, { recursive: true });
    fs.chmodSync(this.opts.dir, 0o777); // Postgres runs as the `postgres` user when we are root
    this.log(`starting embedded Postgres (data in ${(await simPgPlace(this.opts.dir)).dataDir})`);
    await this.startPg();
    this.ports.push(this.pgPort);
    this.log('bootstrapping the schema');
    await bootstrapSchema(this.opts.dir, this.pg);

    this.upstream = await startUpstream();
    this.ports.push(this.upstream.port);

    const names = Array.from({ length: this.opts.nodes }, (_, i) => `n${i + 1}`);
    const onState = (n: string, st: NodeState, crashed?: string) => this.opts.onState?.(n, st, crashed);
    let first: SimNode;
    if (this.opts.hybrid) {
      const h = await hybridNodes({
        dir: this.opts.dir,
        names,
        database: { pg_host: '127.0.0.1', pg_port: this.pgPort, pg_user: this.pg.user, pg_password: this.pg.password, pg_database: 'gossamer' },
        config: this.opts.config,
        nodeConfig: this.opts.nodeConfig,
        onState,
      });
      this.ports.push(...h.ports);
      this.cp = h.controlPlane;
      this.nodes = h.dataPlanes;
      first = h.controlPlane;
    } else {
      await this.makeNodes(names, onState);
      first = this.nodes[0]!;
    }
    this.log(`starting ${first.name}`);
    await first.start();
    await this.opts.setup?.(first, this);
    const rest = this.nodes.filter((n) => n !== first);
    // In batches when asked (bench:scale): dozens of node processes booting at once on two cores
    // starve each other past the readiness timeout; a batch joins a running cluster instead.
    const batch = this.opts.startBatch && this.opts.startBatch > 0 ? this.opts.startBatch : Math.max(1, rest.length);
    if (rest.length === 0) this.log('starting no other node');
    for (let i = 0; i < rest.length; i += batch) {
      const group = rest.slice(i, i + batch);
      this.log(`starting ${group.map((n) => n.name).join(', ')}`);
      await Promise.all(group.map((n) => n.start()));
    }
    await Promise.all(this.nodes.map((n) => this.learnPeerId(n)));

    this.lb = await startBalancer({
      listen: { host: '127.0.0.1', port: 0 },
      backends: this.nodes.map((n) => ({ name: n.name, proxyUrl: n.proxyUrl, statusUrl: `${n.adminUrl}/status` })),
      checkIntervalMs: 250,
      // Not shorter: on a busy 2-core machine a healthy node can take most of a second to answer.
      checkTimeoutMs: 1000,
      // Below the traffic client's 2 s budget, so a GET stuck on a frozen node is retried on
      // another node in time (nginx's proxy_next_upstream timeout).
      upstreamTimeoutMs: 800,
      servedByHeader: SERVED_BY,
    });
    this.ports.push(this.lb.port);
    await this.lb.checked();
  }

  /** DB mode: every node on Postgres through its own fault proxy, every other node a seed. */
  private async makeNodes(names: string[], onState: (n: string, st: NodeState, crashed?: string) => void): Promise<void> {
    const ports = new Map<string, { proxy: number; admin: number; cluster: number }>();
    for (const name of names) {
      const p = { proxy: await simPort(), admin: await simPort(), cluster: await simPort() };
      ports.set(name, p);
      this.ports.push(p.proxy, p.admin, p.cluster);
      const fp = await startFaultProxy({ target: { host: '127.0.0.1', port: this.pgPort }, port: await simPort() });
      this.proxies.set(name, fp);
      this.ports.push(fp.port);
    }
    const hostPorts = [...[...this.proxies.values()].map((fp) => fp.port), this.upstream.port];
    const netNodes = names.map((name) => ({ name, ports: ports.get(name)! }));
    if (this.opts.net === 'netns') this.network = NetnsNetwork.create({ nodes: netNodes, hostPorts, log: this.log });
    if (this.opts.net === 'zones') {
      this.zones = await ZonesNetwork.create({ nodes: netNodes, hostPorts, zones: this.opts.zones, log: this.log });
      this.network = this.zones.net;
    }
    const hostOf = (name: string) => this.network?.host(name) ?? '127.0.0.1';
    for (const name of names) {
      const p = ports.get(name)!;
      const host = hostOf(name);
      const seeds = names.filter((n) => n !== name).map((n) => `${hostOf(n)}:${ports.get(n)!.cluster}`);
      const config = {
        node_name: name,
        prefix: path.join(this.opts.dir, name, 'prefix'),
        proxy_listen: `${host}:${p.proxy}`,
        admin_listen: `${host}:${p.admin}`,
        // --net zones: the node listens behind its zone relay, which owns the advertised address.
        cluster_listen: this.zones ? this.zones.innerListen(name, p.cluster) : `${host}:${p.cluster}`,
        cluster_advertise: `${host}:${p.cluster}`,
        cluster_peers: seeds.join(','),
        pg_host: '127.0.0.1',
        pg_port: this.proxies.get(name)!.port,
        pg_user: this.pg.user,
        pg_password: this.pg.password,
        pg_database: 'gossamer',
        // 2 cores for the whole cluster: one proxy worker per node.
        worker_processes: 1,
        cluster_test_partitions: 'on',
        ...this.opts.config,
        ...this.opts.nodeConfig?.[name],
      };
      this.nodes.push(new SimNode({ name, dir: path.join(this.opts.dir, name), ports: p, config, onState, host, ...(this.opts.readyTimeoutMs ? { readyTimeoutMs: this.opts.readyTimeoutMs } : {}), ...(this.network ? { wrap: this.network.wrap(name) } : {}) }));
    }
  }

  /** The node's own libp2p peer id, from its /cluster/members self entry (partitions block by peer id). */
  async learnPeerId(n: SimNode): Promise<void> {
    try {
      const r = await fetch(`${n.adminUrl}/cluster/members`, { signal: AbortSignal.timeout(2000) });
      const body = (await r.json()) as { data?: { self?: boolean; peer_id?: string; name?: string }[] };
      n.peerId = body.data?.find((m) => m.self || m.name === n.name)?.peer_id ?? n.peerId;
    } catch (err) {
      this.log(`${n.name}: could not read its peer id: ${(err as Error).message}`);
    }
  }

  /** Wait until every up node lists every up node as alive (the cluster has formed). */
  async waitFormed(timeoutMs = 30_000): Promise<boolean> {
    const until = Date.now() + timeoutMs;
    while (Date.now() < until) {
      const up = this.nodes.filter((n) => n.state === 'up');
      const views = await Promise.all(up.map(async (n) => {
        try {
          const r = await fetch(`${n.adminUrl}/cluster/members`, { signal: AbortSignal.timeout(1000) });
          const body = (await r.json()) as { data?: { name: string; status: string }[] };
          return up.every((o) => body.data?.some((m) => m.name === o.name && m.status === 'alive'));
        } catch {
          return false;
        }
      }));
      if (views.every(Boolean)) return true;
      await sleep(200);
    }
    return false;
  }

  async restartNode(name: string): Promise<void> {
    const n = this.node(name);
    await n.restart();
    await this.afterStart(n);
  }

  async startNode(name: string): Promise<void> {
    const n = this.node(name);
    await n.start();
    await this.afterStart(n);
  }

  /** A node that comes back keeps its side of a partition in force. */
  private async afterStart(n: SimNode): Promise<void> {
    await this.learnPeerId(n);
    // Packet drops live in the namespaces and outlast a restart; the gater's list does not.
    if (this.groups && !this.network) await this.applyBlocks(this.groups, [n]);
  }

  private async putBlocked(n: SimNode, peers: string[]): Promise<string | undefined> {
    try {
      const r = await fetch(`${n.adminUrl}/cluster/test/blocked`, {
        method: 'PUT',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ peers }),
        signal: AbortSignal.timeout(2000),
      });
      await r.body?.cancel();
      return r.ok ? undefined : `${n.name}: PUT /cluster/test/blocked answered ${r.status}`;
    } catch (err) {
      return `${n.name}: PUT /cluster/test/blocked failed: ${(err as Error).message}`;
    }
  }

  private async applyBlocks(groups: string[][], targets: SimNode[]): Promise<string[]> {
    const problems: string[] = [];
    await Promise.all(targets.map(async (n) => {
      if (n.state !== 'up') return;
      const mine = groups.find((g) => g.includes(n.name)) ?? [n.name];
      const blocked = this.nodes.filter((o) => !mine.includes(o.name)).map((o) => o.peerId).filter((p): p is string => !!p);
      const err = await this.putBlocked(n, blocked);
      if (err) problems.push(err);
    }));
    return problems;
  }

  /** Split the cluster: nodes in different groups refuse each other's cluster connections. */
  async partition(groups: string[][]): Promise<string[]> {
    this.groups = groups;
    return this.network ? this.network.partition(groups) : this.applyBlocks(groups, this.nodes);
  }

  async heal(): Promise<string[]> {
    this.groups = undefined;
    for (const p of this.proxies.values()) p.restore();
    if (this.network) return this.network.heal();
    const problems = await Promise.all(this.nodes.filter((n) => n.state === 'up').map((n) => this.putBlocked(n, [])));
    return problems.filter((p): p is string => !!p);
  }

  async dbDown(): Promise<void> {
    this.untrackPg?.();
    await this.pg.stop();
  }

  async dbUp(): Promise<void> {
    await this.startPg();
  }

  isolateDb(name: string): void {
    this.dbProxy(name).cut();
  }

  restoreDb(name: string): void {
    this.dbProxy(name).restore();
  }

  private dbProxy(name: string): FaultProxy {
    this.node(name);
    const p = this.proxies.get(name);
    if (!p) throw new Error(`${name} has no link to Postgres to cut (a data plane has no database)`);
    return p;
  }

  /** Stop everything, then make sure nothing this cluster opened still listens. */
  async stop(): Promise<number[]> {
    await this.lb?.close().catch(() => {});
    const all = this.cp ? [this.cp, ...this.nodes] : this.nodes;
    await Promise.all(all.map((n) => n.kill().catch(() => {})));
    for (const n of all) n.reap();
    this.zones?.destroy();
    this.network?.destroy();
    await this.upstream?.close().catch(() => {});
    for (const p of this.proxies.values()) await p.close().catch(() => {});
    if (this.pg) {
      await this.pg.stop().catch(() => {});
      this.untrackPg?.();
    }
    return stillListening(this.ports);
  }
}
