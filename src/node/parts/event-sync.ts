// The configuration part of a node with a database: the cache of record, warm from Postgres,
// kept current by gossiped change events and repairs (src/sync/gossip/).
import type pg from 'pg';
import { createEventSync, type EventSync } from '../../sync/gossip/event-sync.ts';
import type { NodeProxy } from '../../proxy/node-proxy.ts';
import type { ChangeEvent } from '../../entities/types.ts';
import type { NodeContext } from '../context.ts';

/** Started before the proxy (which is built from it): `proxy` is read at each change. */
export async function startEventSyncPart({ config, log, stops }: NodeContext, pool: pg.Pool, proxy: () => NodeProxy | null): Promise<EventSync> {
  const events = createEventSync({
    pool,
    log: log.child({ part: 'events' }),
    gossip: config.cluster_gossip_events,
    dbUpdateFrequency: config.db_update_frequency,
    dbCacheTtl: config.db_cache_ttl,
    dbUpdatePropagation: config.db_update_propagation,
    onEvents: (evs) => proxy()?.applyChanges(evs),
    onSnapshot: (snap) => proxy()?.loadSnapshot(snap),
  });
  await events.start();
  stops.push(() => events.stop());
  return events;
}

/** What the Admin API of a node with a database gets from its configuration part. */
export function writableAdmin(pool: pg.Pool, events: EventSync, proxy: () => NodeProxy | null) {
  return {
    pool,
    // Read-your-write: the Admin API answers once this node's own proxy workers serve the change.
    onChanges: async (evs: ChangeEvent[]) => {
      events.localChanges(evs);
      await proxy()?.settled();
    },
    statusExtra: () => {
      // The events layer already knows whether Postgres answers (it polls, and retries
      // during an outage); asking it keeps /status instant when the load balancer polls it.
      const s = events.status();
      return { database: { reachable: events.dbReachable() }, configuration_hash: s.config_hash, config_version: s.config_version };
    },
    notReady: () => events.notReady(),
  };
}
