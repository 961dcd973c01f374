// What a role's recipe hands back to the composition root (start.ts).
import type { AdminServer } from '../admin/index.ts';
import type { Cluster } from '../cluster/index.ts';
import type { NodeProxy } from '../proxy/node-proxy.ts';
import type { ConfigSync } from '../sync/config-sync.ts';
import type { EventSync } from '../sync/gossip/event-sync.ts';

export interface StartedRole {
  admin: AdminServer | null;
  proxy: NodeProxy | null;
  cluster: Cluster | null;
  /** How this node's configuration stays current (gossip/ or push/). */
  sync: ConfigSync;
  /** The gossip strategy's engine, on nodes with a database. */
  events: EventSync | null;
}
