// The composition root: the only module that knows every part. It prepares what every role
// shares (the prefix, the pid file, the node id, the stop list), then starts the role's recipe:
//   traditional.ts    database, gossip sync, proxy, cluster, Admin API
//   control-plane.ts  database, gossip sync, cluster, Admin API serving data planes
//   data-plane.ts     proxy, on-disk cache + push sync, Admin API (read-only), cluster
//   dbless.ts         declarative_config / POST /config, proxy, Admin API (/config), cluster
// Parts are in parts/; the node stops them in reverse order of their start.
import fs from 'node:fs';
import type { Config } from '../config/index.ts';
import type { Logger } from '../log.ts';
import type { AdminServer } from '../admin/index.ts';
import type { Cluster } from '../cluster/index.ts';
import type { EventSync } from '../sync/gossip/event-sync.ts';
import type { ConfigSync, ReloadResult } from '../sync/config-sync.ts';
import type { NodeProxy } from '../proxy/node-proxy.ts';
import { StartError } from '../errors.ts';
import { removePid, runningPid, writePid } from '../pidfile.ts';
import type { NodeContext, Stop } from './context.ts';
import type { StartedRole } from './role.ts';

export interface RunningNode {
  id: string;
  config: Config;
  admin: AdminServer | null;
  proxy: Pick<NodeProxy, 'applyChanges' | 'loadSnapshot'> | null;
  cluster: Cluster | null;
  /** How the configuration stays current: gossip/ (with a database) or push/ (a data plane). */
  sync: ConfigSync;
  events: EventSync | null;
  /**
   * `gossamer reload` (Kong's advice for "configuration inconsistency": flush cached
   * configuration): the whole configuration is read again from its source (Postgres, or a
   * control plane for a data plane) and handed to the proxy workers, which rebuild from it.
   */
  reloadEntities(): Promise<ReloadResult>;
  stop(): Promise<void>;
}

// Each role loads only its own parts, and loads them when it reaches them: a data plane must
// serve its cached configuration within a second or two of start, and through tsx every module
// costs load time (libp2p alone is most of a second), so Postgres, the Admin API and the
// cluster stack are imported by the recipes, which are imported here only when chosen.
function startRole(node: NodeContext): Promise<StartedRole> {
  const { config } = node;
  // DB-less (Kong's database = off without hybrid mode): configuration from a file or POST /config.
  if (config.database !== 'postgres' && config.cluster_role === 'traditional') return import('./dbless.ts').then((r) => r.startDbless(node));
  // Data plane: no database; configuration from a control plane.
  if (config.database !== 'postgres') return import('./data-plane.ts').then((r) => r.startDataPlane(node));
  if (config.cluster_role === 'control_plane') return import('./control-plane.ts').then((r) => r.startControlPlane(node));
  return import('./traditional.ts').then((r) => r.startTraditional(node));
}

export async function startNode(config: Config, log: Logger): Promise<RunningNode> {
  const node = await prepareNode(config, log);
  const stop = () => stopAll(node.stops, log);
  try {
    const role = await startRole(node);
    return { id: node.nodeId, config, ...role, reloadEntities: () => role.sync.reload(), stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

/** What every role needs first: its prefix, no other node running there, its id, the pid file. */
async function prepareNode(config: Config, log: Logger): Promise<NodeContext> {
  const prefix = config.prefix;
  try {
    fs.mkdirSync(prefix, { recursive: true });
  } catch (err) {
    throw new StartError(`cannot create prefix ${prefix}: ${(err as NodeJS.ErrnoException).code}`);
  }
  const other = runningPid(prefix);
  if (other !== null && other !== process.pid) throw new StartError(`a node is already running in ${prefix} (pid ${other}); stop it with 'gossamer stop -p ${prefix}'`);
  const { loadOrCreateNodeId } = await import('../cluster/identity.ts');
  const nodeId = loadOrCreateNodeId(prefix);
  // The pid file goes first: once any port answers, `gossamer stop` must find the node.
  writePid(prefix);
  return { config, log, nodeId, stops: [() => removePid(prefix)] };
}

async function stopAll(stops: Stop[], log: Logger): Promise<void> {
  for (const s of stops.reverse()) {
    try {
      await s();
    } catch (err) {
      log.warn({ err }, 'error while stopping a part of the node');
    }
  }
}
