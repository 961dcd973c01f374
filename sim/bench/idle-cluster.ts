// N real `gossamer start` processes (worker_processes = 1) on one embedded Postgres, loopback,
// and nothing else: no fault proxy in front of Postgres and no load balancer checking /status
// (SimCluster has both, and the balancer's health checks would be traffic), so what the nodes
// spend is what an idle cluster spends. Every other node is a seed, as in SimCluster.
import fs from 'node:fs';
import path from 'node:path';
import { startEmbeddedPostgres, type EmbeddedPg } from '../../src/db/embedded.ts';
import { SimNode } from '../harness/node-process.ts';
import { simPort } from '../harness/ports.ts';
import { trackPostgres } from '../harness/reaper.ts';
import { bootstrapSchema } from '../harness/schema.ts';
import { waitConverged } from './scale-measure.ts';

export interface IdleCluster {
  pg: EmbeddedPg;
  nodes: SimNode[];
  /** Milliseconds from the last node's start (its /status answering) until every node saw every node alive; null if never. */
  convergedMs: number | null;
  /** Epoch ms when every node saw every node alive (NaN if never). */
  convergedAt: number;
  stop(): Promise<void>;
}

export interface IdleClusterOptions {
  n: number;
  dir: string;
  /** Extra config keys for every node (kong.conf names). */
  config?: Record<string, string | number | boolean>;
  convergeTimeoutMs?: number;
  /** Command prefix for the first node only (bench:idle --profile runs it under a --cpu-prof wrapper). */
  wrapFirst?: string[];
  /** Every node at the same moment, the first one included (a fleet restarted together). */
  atOnce?: boolean;
  log?: (line: string) => void;
}

async function startPg(dir: string): Promise<{ pg: EmbeddedPg; untrack: () => void }> {
  fs.mkdirSync(dir, { recursive: true });
  fs.chmodSync(dir, 0o777); // Postgres runs as the `postgres` user when we are root
  const pg = await startEmbeddedPostgres({ dir: path.join(dir, 'pg'), port: await simPort(), persistent: false });
  const untrack = trackPostgres(pg.dir);
  await bootstrapSchema(dir, pg);
  return { pg, untrack };
}

async function makeNodes(o: IdleClusterOptions, pg: EmbeddedPg): Promise<SimNode[]> {
  const names = Array.from({ length: o.n }, (_, i) => `n${i + 1}`);
  const ports = new Map<string, { proxy: number; admin: number; cluster: number }>();
  for (const name of names) ports.set(name, { proxy: await simPort(), admin: await simPort(), cluster: await simPort() });
  return names.map((name, i) => {
    const p = ports.get(name)!;
    const config = {
      node_name: name,
      prefix: path.join(o.dir, name, 'prefix'),
      proxy_listen: `127.0.0.1:${p.proxy}`,
      admin_listen: `127.0.0.1:${p.admin}`,
      cluster_listen: `127.0.0.1:${p.cluster}`,
      cluster_advertise: `127.0.0.1:${p.cluster}`,
      cluster_peers: names.filter((x) => x !== name).map((x) => `127.0.0.1:${ports.get(x)!.cluster}`).join(','),
      pg_host: '127.0.0.1',
      pg_port: pg.port,
      pg_user: pg.user,
      pg_password: pg.password,
      pg_database: 'gossamer',
      worker_processes: 1,
      ...o.config,
    };
    return new SimNode({ name, dir: path.join(o.dir, name), ports: p, config, onState: () => {}, readyTimeoutMs: 180_000, ...(i === 0 && o.wrapFirst ? { wrap: o.wrapFirst } : {}) });
  });
}

/** Postgres, then the first node (it bootstraps nothing, but its row is there for the others), then all others at once (or all of them at once). */
export async function startIdleCluster(o: IdleClusterOptions): Promise<IdleCluster> {
  const log = o.log ?? (() => {});
  const { pg, untrack } = await startPg(o.dir);
  const nodes = await makeNodes(o, pg);
  const stop = async () => {
    await Promise.all(nodes.map((n) => n.kill().catch(() => {})));
    for (const n of nodes) n.reap();
    await pg.stop().catch(() => {});
    untrack();
  };
  try {
    log(`starting ${o.n} node(s)`);
    if (o.atOnce) await Promise.all(nodes.map((n) => n.start()));
    else {
      await nodes[0]!.start();
      await Promise.all(nodes.slice(1).map((n) => n.start()));
    }
    const lastStart = Date.now();
    const at = await waitConverged(nodes, nodes.length, o.convergeTimeoutMs ?? 120_000);
    return { pg, nodes, convergedMs: Number.isFinite(at) ? at - lastStart : null, convergedAt: at, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
