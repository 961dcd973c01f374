// The control plane's side of hybrid mode: serve /gossamer/sync/1.0.0 (snapshots from the
// node's cache of record, built once per version; missing events from cluster_events),
// remember which data planes asked, and answer /clustering/*. Change events made here are
// pushed to every data plane (/gossamer/push/2.0.0, one kept stream each); other control
// planes learn them by gossip on EVENTS_TOPIC (src/cluster/events.ts), which data planes do
// not follow. So a change reaches each data plane once, from the control plane that made it,
// whichever control plane the data plane synced from.
import type pg from 'pg';
import { peerIdFromString } from '@libp2p/peer-id';
import type { Cluster } from '../../cluster/index.ts';
import { EVENTS_TOPIC, type EventSync, type EventsCluster } from '../gossip/event-sync.ts';
import { eventsSince } from '../../db/events.ts';
import type { Logger } from '../../log.ts';
import type { Router } from '../../admin/router.ts';
import { encodeResponse, handleSync, openPushStream, SYNC_PROTOCOL, type DataPlaneHello, type SyncRequest } from './protocol.ts';
import { PushChannel } from './push-channel.ts';
import { SnapshotCache } from './snapshot-cache.ts';
import { registerClustering, type DataPlaneRecord } from '../../hybrid/clustering-routes.ts';
import { logRefusedConnections } from '../../hybrid/refusals.ts';

const EVENTS_LIMIT = 1000;
const PUSH_TIMEOUT_MS = 2000;

/**
 * The control plane's push to its data planes, per cluster: set by attachControlPlane, called
 * by the publish of withoutDataPlanes (which node.ts hands to the events layer before the
 * control plane part exists), so every change this node gossips is pushed too.
 */
const pushers = new WeakMap<Cluster, (bytes: Uint8Array) => void>();

export interface ControlPlaneOptions {
  cluster: Cluster;
  events: EventSync;
  pool: pg.Pool;
  router: Router;
  log: Logger;
}

export interface ControlPlane {
  snapshots: SnapshotCache;
  dataPlanes: Map<string, DataPlaneRecord>;
  pushStats: { pushes: number; pushFailures: number; pushesSkipped: number };
  stop(): Promise<void>;
}

export async function attachControlPlane(o: ControlPlaneOptions): Promise<ControlPlane> {
  const { cluster, events, pool, log } = o;
  const snapshots = new SnapshotCache({
    configVersion: () => events.configVersion(),
    configHash: () => events.configHash(),
    snapshot: () => events.store.snapshot(),
  });
  const dataPlanes = new Map<string, DataPlaneRecord>();
  const seen = (dp: DataPlaneHello | undefined, remote: { peer: string; addr: string }, served?: { version: number; hash: string }) => {
    if (!dp || typeof dp.node_id !== 'string') return;
    const prev = dataPlanes.get(dp.node_id);
    if (!prev) log.info({ data_plane: dp.name, node_id: dp.node_id, ip: remote.addr }, `data plane ${dp.name} (${remote.addr}) connected for its configuration`);
    dataPlanes.set(dp.node_id, {
      id: dp.node_id,
      name: dp.name,
      hostname: dp.hostname,
      version: dp.version,
      ip: remote.addr,
      peer_id: remote.peer,
      last_sync: Date.now(),
      served_version: served?.version ?? prev?.served_version ?? null,
      served_hash: served?.hash ?? prev?.served_hash ?? null,
    });
  };

  const answer = async (req: SyncRequest, remote: { peer: string; addr: string }): Promise<Uint8Array> => {
    if (req?.t === 'snapshot') {
      const config_version = events.configVersion();
      const config_hash = events.configHash();
      if (req.have_hash === config_hash && req.have_version === config_version) {
        seen(req.dp, remote, { version: config_version, hash: config_hash });
        return encodeResponse({ t: 'current', config_version, config_hash });
      }
      const built = await snapshots.get();
      seen(req.dp, remote, { version: built.config_version, hash: built.config_hash });
      log.debug({ data_plane: req.dp?.name, config_version: built.config_version, bytes: built.size }, 'sent a configuration snapshot');
      return built.response;
    }
    if (req?.t === 'events') {
      seen(req.dp, remote);
      const since = Number(req.since);
      if (!Number.isSafeInteger(since) || since < 0) return encodeResponse({ t: 'error', message: 'since must be a non-negative integer' });
      try {
        const list = await eventsSince(pool, since, EVENTS_LIMIT);
        if (since > 0) {
          const { rows } = await pool.query('SELECT min(config_version) AS v FROM cluster_events');
          const oldest = rows[0]?.v == null ? null : Number(rows[0].v);
          // Versions between `since` and the oldest kept event may have been cleaned up.
          if (oldest !== null && oldest > since + 1) return encodeResponse({ t: 'snapshot-needed', reason: `events after ${since} are no longer kept (oldest is ${oldest})` });
        }
        const through = list.length ? list[list.length - 1]!.config_version : since;
        return encodeResponse({ t: 'events', events: list, through, config_version: events.configVersion(), config_hash: events.configHash() });
      } catch (err) {
        return encodeResponse({ t: 'snapshot-needed', reason: `database unavailable: ${(err as Error).message}` });
      }
    }
    return encodeResponse({ t: 'error', message: `unknown request ${(req as { t?: unknown })?.t}` });
  };

  const stats = { pushes: 0, pushFailures: 0, pushesSkipped: 0 };
  const channels = new Map<string, PushChannel>();
  const channelTo = (peer: string, name: string): PushChannel => {
    let ch = channels.get(peer);
    if (!ch) {
      const id = peerIdFromString(peer);
      ch = new PushChannel(
        async () => {
          // Dialled again when needed: on a busy machine connections drop and members are taken
          // for failed for a moment, exactly when a change must not wait for a repair.
          const conn = cluster.libp2p.getConnections(id).find((c) => c.status === 'open') ?? (await cluster.libp2p.dial(id, { signal: AbortSignal.timeout(PUSH_TIMEOUT_MS) }));
          return openPushStream(conn, PUSH_TIMEOUT_MS);
        },
        (err) => {
          stats.pushFailures++;
          log.debug({ data_plane: name, err: err.message }, 'pushing change events to a data plane failed; it repairs by asking');
        },
      );
      channels.set(peer, ch);
    }
    return ch;
  };
  const push = (bytes: Uint8Array): void => {
    // Data planes synced from another control plane get our changes from us too (nobody
    // relays them). One synced from us gets them in any status: a data plane taken for failed
    // on a busy machine may still be reading.
    const synced = new Set<string>();
    for (const dp of dataPlanes.values()) synced.add(dp.peer_id);
    for (const m of cluster.members()) {
      if (m.role !== 'data_plane') continue;
      if (!synced.has(m.peer_id) && m.status !== 'alive' && m.status !== 'suspect') continue;
      if (m.status === 'left') {
        channels.get(m.peer_id)?.close();
        channels.delete(m.peer_id);
        continue;
      }
      if (channelTo(m.peer_id, m.name).send(bytes)) stats.pushes++;
      else stats.pushesSkipped++;
    }
  };
  pushers.set(cluster, push);

  await handleSync(cluster.libp2p, answer);
  logRefusedConnections(cluster.libp2p, log);
  registerClustering(o.router, {
    cluster: () => cluster,
    dataPlanes: () => dataPlanes,
    configHash: () => events.configHash(),
    configVersion: () => events.configVersion(),
  });
  log.info({ protocol: SYNC_PROTOCOL }, 'control plane: serving configuration to data planes');
  return {
    snapshots,
    dataPlanes,
    pushStats: stats,
    async stop() {
      if (pushers.get(cluster) === push) pushers.delete(cluster);
      for (const ch of channels.values()) ch.close();
      channels.clear();
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
    members: () => cluster.members().filter((m) => !isDp(m)),
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
