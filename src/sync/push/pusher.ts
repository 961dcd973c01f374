// The control plane's push of change events to data planes (/gossamer/push/2.0.0): one kept
// stream per data plane, dialled again when needed. A lost push is repaired by the data plane
// asking (a gap, a higher config_version announced, a reconnect).
import { peerIdFromString } from '@libp2p/peer-id';
import type { Cluster } from '../../cluster/index.ts';
import type { Logger } from '../../log.ts';
import { openPushStream } from './protocol.ts';
import { PushChannel } from './push-channel.ts';
import type { DataPlaneRegistry } from './data-planes.ts';

const PUSH_TIMEOUT_MS = 2000;

export class DataPlanePusher {
  readonly stats = { pushes: 0, pushFailures: 0, pushesSkipped: 0 };
  private readonly channels = new Map<string, PushChannel>();

  constructor(
    private readonly cluster: Cluster,
    private readonly dataPlanes: DataPlaneRegistry,
    private readonly log: Logger,
  ) {}

  /** The bytes a change was published with, to every data plane that should have them. */
  push(bytes: Uint8Array): void {
    // Data planes synced from another control plane get our changes from us too (nobody
    // relays them). One synced from us gets them in any status: a data plane taken for failed
    // on a busy machine may still be reading.
    const synced = new Set<string>();
    for (const dp of this.dataPlanes.values()) synced.add(dp.peer_id);
    for (const m of this.cluster.members()) {
      if (m.role !== 'data_plane') continue;
      if (!synced.has(m.peer_id) && m.status !== 'alive' && m.status !== 'suspect') continue;
      if (m.status === 'left') {
        this.channels.get(m.peer_id)?.close();
        this.channels.delete(m.peer_id);
        continue;
      }
      if (this.channelTo(m.peer_id, m.name).send(bytes)) this.stats.pushes++;
      else this.stats.pushesSkipped++;
    }
  }

  close(): void {
    for (const ch of this.channels.values()) ch.close();
    this.channels.clear();
  }

  private channelTo(peer: string, name: string): PushChannel {
    let ch = this.channels.get(peer);
    if (!ch) {
      const id = peerIdFromString(peer);
      const cluster = this.cluster;
      ch = new PushChannel(
        async () => {
          // Dialled again when needed: on a busy machine connections drop and members are taken
          // for failed for a moment, exactly when a change must not wait for a repair.
          const conn = cluster.libp2p.getConnections(id).find((c) => c.status === 'open') ?? (await cluster.libp2p.dial(id, { signal: AbortSignal.timeout(PUSH_TIMEOUT_MS) }));
          return openPushStream(conn, PUSH_TIMEOUT_MS);
        },
        (err) => {
          this.stats.pushFailures++;
          this.log.debug({ data_plane: name, err: err.message }, 'pushing change events to a data plane failed; it repairs by asking');
        },
      );
      this.channels.set(peer, ch);
    }
    return ch;
  }
}
