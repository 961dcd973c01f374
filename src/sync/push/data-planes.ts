// The data planes a control plane has heard from (each sync request says who asks): what
// GET /clustering/data-planes lists, and whom a change is pushed to besides live members.
import type { Logger } from '../../log.ts';
import type { DataPlaneHello } from './protocol.ts';

export interface DataPlaneRecord {
  id: string;
  name: string;
  hostname: string;
  version: string;
  ip: string;
  peer_id: string;
  /** ms since epoch of its last sync request. */
  last_sync: number;
  served_version: number | null;
  served_hash: string | null;
}

export type DataPlaneRegistry = Map<string, DataPlaneRecord>;

/** Note a request from a data plane (`served`: the configuration it was answered with, if any). */
export function noteDataPlane(
  dataPlanes: DataPlaneRegistry,
  log: Logger,
  dp: DataPlaneHello | undefined,
  remote: { peer: string; addr: string },
  served?: { version: number; hash: string },
): void {
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
}
