// The control plane's side of the push strategy: serve /gossamer/sync/1.0.0 (snapshots from the
// node's cache of record, built once per version; missing events from cluster_events,
// sync-server.ts), remember which data planes asked (data-planes.ts). Change events made here
// are pushed to every data plane (/gossamer/push/2.0.0, one kept stream each, pusher.ts); other
// control planes learn them by gossip on EVENTS_TOPIC (../gossip/event-sync.ts), which data
// planes do not follow. So a change reaches each data plane once, from the control plane that
// made it, whichever control plane the data plane synced from.
import type pg from 'pg';
import type { Cluster } from '../../cluster/index.ts';
import { EVENTS_TOPIC } from '../event-message.ts';
import type { EventSync, EventsCluster } from '../gossip/event-sync.ts';
import type { Logger } from '../../log.ts';
import { handleSync, SYNC_PROTOCOL } from './protocol.ts';
import { SnapshotCache } from './snapshot-cache.ts';
import type { DataPlaneRegistry } from './data-planes.ts';
import { DataPlanePusher } from './pusher.ts';
import { syncAnswer } from './sync-server.ts';

/**
 * The control plane's push to its data planes, per cluster: set by attachControlPlane, called
 * by the publish of withoutDataPlanes (which the composition root hands to the events layer
 * before the control plane part exists), so every change this node gossips is pushed too.
 */
const pushers = new WeakMap<Cluster, (bytes: Uint8Array) => void>();

export interface ControlPlaneOptions {
  cluster: Cluster;
  events: EventSync;
  pool: pg.Pool;
  log: Logger;
}

export interface ControlPlane {
  snapshots: SnapshotCache;
  dataPlanes: DataPlaneRegistry;
  pushStats: DataPlanePusher['stats'];
  stop(): Promise<void>;
}

export async function attachControlPlane(o: ControlPlaneOptions): Promise<ControlPlane> {
  const { cluster, events, pool, log } = o;
  const snapshots = new SnapshotCache({
    configVersion: () => events.configVersion(),
    configHash: () => events.configHash(),
    snapshot: () => events.store.snapshot(),
  });
  const dataPlanes: DataPlaneRegistry = new Map();
  const pusher = new DataPlanePusher(cluster, dataPlanes, log);
  const push = (bytes: Uint8Array) => pusher.push(bytes);
  pushers.set(cluster, push);
  await handleSync(cluster.libp2p, syncAnswer({ events, pool, snapshots, dataPlanes, log }));
  log.info({ protocol: SYNC_PROTOCOL }, 'control plane: serving configuration to data planes');
  return {
    snapshots,
    dataPlanes,
    pushStats: pusher.stats,
    async stop() {
      if (pushers.get(cluster) === push) pushers.delete(cluster);
      pusher.close();
      await cluster.libp2p.unhandle(SYNC_PROTOCOL).catch(() => {});
    },
  };
}

/**
 * The cluster as a control plane's EventSync sees it: data planes are members, but they hold
 * no database, so their config_version/config_hash must not make the control plane re-read
 * Postgres (EventSync reloads when a peer's hash differs at the same version).
 */
export function withoutDataPlanes(cluster: Cluster): EventsCluster {
  const isDp = (m: unknown) => (m as { role?: string } | undefined)?.role === 'data_plane';
  const wrapped = new Map<(...args: any[]) => void, (...args: any[]) => void>();
  return {
    publish: (topic, data) => {
      // Straight to the data planes first (one hop), then gossip as for every node.
      if (topic === EVENTS_TOPIC) pushers.get(cluster)?.(data);
      return cluster.publish(topic, data);
    },
    // A data plane holds no database: nothing it says on the events topic is a change.
    subscribe: (topic, handler) =>
      cluster.subscribe(topic, (data, from) => {
        if (!isDp(from)) handler(data, from);
      }),
    setLocalState: (state) => cluster.setLocalState(state),
    noteLocalState: (state) => cluster.noteLocalState(state),
    members: () => cluster.members().filter((m) => !isDp(m)),
    registered: (nodeId) => cluster.registered(nodeId),
    on: (event, listener) => {
      const w = (...args: any[]) => {
        if (!isDp(args[0])) listener(...args);
      };
      wrapped.set(listener, w);
      return cluster.on(event as 'member-joined', w);
    },
    off: (event, listener) => cluster.off(event as 'member-joined', wrapped.get(listener) ?? listener),
  };
}
