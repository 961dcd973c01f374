import { onOff } from '../key.ts';

// Cache invalidation across the cluster (src/sync/gossip/event-sync.ts, repair.ts).
export const eventsKeys = {
  cluster_gossip_events: onOff(
    'on',
    'Gossip entity-change events between nodes so a change reaches every node in milliseconds. off: nodes learn changes only by polling cluster_events every db_update_frequency seconds, as Kong does (for comparison and tests).',
  ),
};
