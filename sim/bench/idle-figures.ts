// What an idle cluster costs, measured from outside the nodes over one window: CPU seconds
// (/proc), RSS, cluster traffic and connections (kernel tcp_info through `ss`, so nothing in
// the node has to count for itself and connection churn is seen too), and Postgres'
// connections and transactions. Shared by bench:idle and a later bench:scale.
import pg from 'pg';
import type { EmbeddedPg } from '../../src/db/embedded.ts';
import type { SimNode } from '../harness/node-process.ts';
import { sleep } from '../harness/node-process.ts';
import { childPids, cpuOfAll, cpuSeconds, inOtherNetns, postmasterPid, rssMb, tcpSockets, type TcpSocket } from './proc.ts';

export interface IdleFigures {
  n: number;
  windowS: number;
  /** Per node, % of one core: primary, its workers, both. */
  cpuPrimary: number[];
  cpuWorkers: number[];
  cpuNode: number[];
  cpuPostgres: number;
  cpuBench: number;
  rssPrimaryMb: number[];
  rssWorkerMb: number[];
  /** Per node per second, on cluster sockets: TCP segments carrying data that it sent, bytes it sent. */
  clusterSegsPerS: number[];
  clusterBytesPerS: number[];
  /** Cluster connections (TCP sockets) open at the end, and opened during the window per second. */
  clusterConns: number[];
  clusterOpensPerS: number[];
  pgConnsTotal: number;
  pgConnsPerNode: number[];
  /** Transactions committed + rolled back in the nodes' database per second (pg_stat_database). */
  pgXactsPerS: number;
  /** Data segments the nodes sent to Postgres per second (about one per query). */
  pgSegsPerS: number;
}

interface Tally {
  segs: number;
  bytes: number;
  opens: number;
}

async function pgCounters(db: EmbeddedPg): Promise<{ xacts: number; conns: number }> {
  // From the `postgres` database, so this query's own transaction is not in the figure.
  const c = new pg.Client({ connectionString: db.url('postgres') });
  await c.connect();
  try {
    const x = await c.query(`SELECT xact_commit + xact_rollback AS n FROM pg_stat_database WHERE datname = 'gossamer'`);
    const a = await c.query(`SELECT count(*) AS n FROM pg_stat_activity WHERE datname = 'gossamer' AND backend_type = 'client backend'`);
    return { xacts: Number(x.rows[0]?.n ?? 0), conns: Number(a.rows[0]?.n ?? 0) };
  } finally {
    await c.end().catch(() => {});
  }
}

/** Follows every cluster and Postgres socket of the nodes across samples, adding what each sent since it was last seen. */
/** A node that exited mid-window has no namespace left to look into. */
function tcpSocketsOrNone(pid: number): TcpSocket[] {
  try {
    return tcpSockets(pid);
  } catch {
    return [];
  }
}

class SocketWatch {
  readonly tally = new Map<number, Tally>();
  readonly pgSegs = { n: 0 };
  private last = new Map<string, TcpSocket>();
  private first = true;
  readonly namespaced: boolean;

  constructor(
    private readonly primaries: Set<number>,
    private readonly clusterPorts: Set<number>,
    private readonly nodePids: Set<number>,
    private readonly pgPorts: Set<number>,
  ) {
    this.namespaced = [...primaries].some(inOtherNetns);
    for (const p of primaries) this.tally.set(p, { segs: 0, bytes: 0, opens: 0 });
  }

  isCluster(s: TcpSocket): boolean {
    return this.primaries.has(s.pid) && (this.clusterPorts.has(s.localPort) || this.clusterPorts.has(s.remotePort));
  }

  sample(): TcpSocket[] {
    // Nodes in network namespaces (--net zones): each namespace's sockets, read from inside it.
    const socks = this.namespaced ? [...this.primaries].flatMap((p) => tcpSocketsOrNone(p)) : tcpSockets();
    const next = new Map<string, TcpSocket>();
    for (const s of socks) {
      const prev = this.last.get(s.key);
      if (this.isCluster(s)) {
        next.set(s.key, s);
        const t = this.tally.get(s.pid)!;
        if (!this.first) {
          // A socket first seen now opened within the window: everything it sent counts.
          t.segs += s.dataSegsOut - (prev?.dataSegsOut ?? 0);
          t.bytes += s.bytesSent - (prev?.bytesSent ?? 0);
          if (!prev) t.opens++;
        }
      } else if (this.nodePids.has(s.pid) && this.pgPorts.has(s.remotePort)) {
        next.set(s.key, s);
        if (!this.first) this.pgSegs.n += s.dataSegsOut - (prev?.dataSegsOut ?? 0);
      }
    }
    this.last = next;
    this.first = false;
    return socks;
  }
}

export interface MeasureOptions {
  nodes: SimNode[];
  pg: EmbeddedPg;
  windowMs: number;
  /** How often sockets are sampled: a connection opened and closed between two samples is missed. */
  sampleMs?: number;
}

/** Measure an already converged idle cluster over one window. */
export async function measureIdle(o: MeasureOptions): Promise<IdleFigures> {
  const primaries = o.nodes.map((n) => {
    if (!n.pid) throw new Error(`${n.name} is not running: cannot measure it`);
    return n.pid;
  });
  const workers = primaries.map((p) => childPids(p));
  const pgMaster = postmasterPid(o.pg.dir);
  const pgPids = () => [pgMaster, ...childPids(pgMaster)];
  // The nodes reach Postgres directly or through the harness's fault proxy (its own port per node).
  const pgPorts = new Set([o.pg.port, ...o.nodes.map((n) => n.pgPort).filter((p): p is number => p !== undefined)]);
  const watch = new SocketWatch(new Set(primaries), new Set(o.nodes.map((n) => n.ports.cluster)), new Set([...primaries, ...workers.flat()]), pgPorts);

  const pg0 = await pgCounters(o.pg);
  const cpuP0 = primaries.map((p) => cpuSeconds(p));
  const cpuW0 = workers.map(cpuOfAll);
  const pgProcs0 = new Map(pgPids().map((p) => [p, cpuSeconds(p)]));
  watch.sample();
  const bench0 = process.cpuUsage();
  const t0 = performance.now();
  let socks: TcpSocket[] = [];
  while (performance.now() - t0 < o.windowMs) {
    // One `ss` per namespace per sample: sample less often when there are many.
    await sleep(Math.min(o.sampleMs ?? (watch.namespaced ? 5000 : 1000), o.windowMs - (performance.now() - t0)));
    socks = watch.sample();
  }
  const s = (performance.now() - t0) / 1000;
  const bench = process.cpuUsage(bench0);
  const pct = (sec: number) => (100 * sec) / s;
  const cpuPrimary = primaries.map((p, i) => pct(cpuSeconds(p) - cpuP0[i]!));
  const cpuWorkers = workers.map((w, i) => pct(cpuOfAll(w) - cpuW0[i]!));
  const cpuPostgres = pct(pgPids().reduce((sum, p) => sum + cpuSeconds(p) - (pgProcs0.get(p) ?? 0), 0));
  const pg1 = await pgCounters(o.pg);
  const pgPerNode = primaries.map((p, i) => socks.filter((k) => (k.pid === p || workers[i]!.includes(k.pid)) && pgPorts.has(k.remotePort)).length);
  return {
    n: o.nodes.length,
    windowS: s,
    cpuPrimary,
    cpuWorkers,
    cpuNode: cpuPrimary.map((c, i) => c + cpuWorkers[i]!),
    cpuPostgres,
    cpuBench: pct((bench.user + bench.system) / 1e6),
    rssPrimaryMb: primaries.map(rssMb),
    rssWorkerMb: workers.map((w) => w.reduce((sum, p) => sum + rssMb(p), 0)),
    clusterSegsPerS: primaries.map((p) => watch.tally.get(p)!.segs / s),
    clusterBytesPerS: primaries.map((p) => watch.tally.get(p)!.bytes / s),
    clusterConns: primaries.map((p) => socks.filter((k) => k.pid === p && watch.isCluster(k)).length),
    clusterOpensPerS: primaries.map((p) => watch.tally.get(p)!.opens / s),
    pgConnsTotal: pg1.conns,
    pgConnsPerNode: pgPerNode,
    pgXactsPerS: (pg1.xacts - pg0.xacts) / s,
    pgSegsPerS: watch.pgSegs.n / s,
  };
}

const meanOf = (xs: number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : 0);
const one = (x: number) => x.toFixed(1);

/** The figures as short lines for a table cell (bench:scale). */
export function idleSummary(f: IdleFigures): string[] {
  const cluster = `cluster ${one(meanOf(f.clusterSegsPerS))} segments/s, ${one(meanOf(f.clusterBytesPerS) / 1024)} KiB/s, ${one(meanOf(f.clusterConns))} connections per node`;
  return [
    `CPU ${one(meanOf(f.cpuNode))} % of a core per node (max ${one(Math.max(...f.cpuNode))})`,
    `RSS primary ${one(meanOf(f.rssPrimaryMb))} MB + worker ${one(meanOf(f.rssWorkerMb))} MB`,
    cluster,
    `Postgres ${f.pgConnsTotal} connections (${one(meanOf(f.pgConnsPerNode))} per node), ${one(f.pgXactsPerS)} transactions/s`,
  ];
}
