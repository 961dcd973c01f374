// The control plane's answers on /gossamer/sync/1.0.0: the whole configuration (unless the
// data plane already holds it), or the change events after a version from cluster_events.
import type pg from 'pg';
import { eventsSince } from '../../db/events.ts';
import type { Logger } from '../../log.ts';
import type { EventSync } from '../gossip/event-sync.ts';
import { encodeResponse, type SyncRequest } from './protocol.ts';
import type { SnapshotCache } from './snapshot-cache.ts';
import { noteDataPlane, type DataPlaneRegistry } from './data-planes.ts';

const EVENTS_LIMIT = 1000;

export interface SyncServerDeps {
  events: EventSync;
  pool: pg.Pool;
  snapshots: SnapshotCache;
  dataPlanes: DataPlaneRegistry;
  log: Logger;
}

export type SyncAnswer = (req: SyncRequest, remote: { peer: string; addr: string }) => Promise<Uint8Array>;

export function syncAnswer(d: SyncServerDeps): SyncAnswer {
  const { events, snapshots, log } = d;
  const seen = (dp: SyncRequest['dp'], remote: { peer: string; addr: string }, served?: { version: number; hash: string }) =>
    noteDataPlane(d.dataPlanes, log, dp, remote, served);
  return async (req, remote) => {
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
      return answerEvents(d, Number(req.since));
    }
    return encodeResponse({ t: 'error', message: `unknown request ${(req as { t?: unknown })?.t}` });
  };
}

async function answerEvents({ events, pool }: SyncServerDeps, since: number): Promise<Uint8Array> {
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
