import { count, millis, onOff } from '../key.ts';

// Membership timings. Names and roles follow HashiCorp memberlist's DefaultLANConfig
// (ProbeInterval, ProbeTimeout, SuspicionMult, ...), in milliseconds. memberlist's LAN
// defaults detect a dead node in about 5 s; Gossamer's targets are 2 s for a killed process
// and 3 s for a hung one with no false failures on a loaded 2-core machine, hence the values.
// These declarations are the only place a timing's default and range are written:
// src/cluster/settings.ts derives startCluster's settings (and their defaults) from them.
export const membershipKeys = {
  cluster_probe_interval: millis(250, 10, 60000, 'Time between probes: each member pings ONE member per interval (shuffled round-robin), so probing costs O(1) per node whatever the cluster size. memberlist LAN: 1000. 250 gets every member probed by some peer within about 250 ms in a 5-node cluster (the hung-process target of 3 s) for 4 pings a second per node.'),
  cluster_probe_timeout: millis(250, 5, 60000, 'How long a direct ping may take before indirect probes are asked for; the indirect phase then gets twice this. Stretched by local health (cluster_awareness_max_multiplier) when this node is slow. memberlist LAN: 500. Loopback and LAN round trips are ~1 ms; 250 leaves room for a busy event loop.'),
  cluster_indirect_checks: count(3, 0, 16, 'Members asked to ping a member that did not answer a direct ping, before it is suspected (memberlist IndirectChecks: 3). Protects against a single bad link.'),
  cluster_probe_rings: count(4, 0, 32, 'Above 2 x this many other members, each member probes only its successor on each of this many pseudo-random rings instead of everyone (Rapid\'s K-ring monitoring): every member is still watched by this many observers, but a node needs connections only to its ring neighbours (about 2 x this many; beyond 4 x this many, connections to other members older than cluster_push_pull_interval are closed) and gossip travels the rings\' expander graph, instead of a connection to every member (noise, identify, yamux and connection-monitor pings, n-1 times per node). Up to 2 x this many others (a cluster of 9 with the default) probing stays all-to-all as in memberlist. 0 keeps all-to-all at any size.'),
  cluster_suspicion_mult: count(4, 1, 100, 'Suspicion timeout = mult * max(1, log10(members)) * cluster_probe_interval once enough members confirm (memberlist SuspicionMult: 4). With 250 ms that is 1 s up to 10 members, 2 s at 100: the time a suspected member has to refute, after it already failed a direct and the indirect probes.'),
  cluster_suspicion_max_timeout_mult: count(6, 1, 100, 'A suspicion nobody else confirms waits this many times the minimum (memberlist SuspicionMaxTimeoutMult: 6): a lone, possibly slow, accuser cannot fail a member quickly.'),
  cluster_awareness_max_multiplier: count(8, 1, 100, 'Lifeguard local health: probe interval and timeout are multiplied by up to this when this node itself is late (missed nacks, refuting suspicions of itself, event-loop stalls) (memberlist AwarenessMaxMultiplier: 8).'),
  cluster_gossip_interval: millis(500, 10, 60000, 'Gossipsub heartbeat: mesh repair and lazy (IHAVE) gossip to peers outside the mesh. State changes themselves are published immediately (memberlist GossipInterval: 200 plays this role).'),
  cluster_push_pull_interval: millis(10000, 100, 3600000, 'Full-state exchange with one random member (anti-entropy for anything gossip missed). memberlist LAN: 30000; the state is small (a few hundred bytes a member).'),
  cluster_catch_up_interval: millis(1000, 100, 3600000, 'After a full-state exchange that taught this node a member it had not heard of (gossip missed it, typically while many nodes join at once), another exchange with a different neighbour this much later, and so on until one teaches nothing new, instead of waiting for the next cluster_push_pull_interval round.'),
  cluster_reap_interval: millis(15000, 100, 3600000, 'How often failed and left members past cluster_reap_timeout are removed (serf ReapInterval: 15 s).'),
  cluster_reap_timeout: millis(3600000, 1000, 604800000, 'How long a failed or left member stays listed in /cluster/members before it is removed (DELETE /cluster/members/{id} removes it at once).'),
  cluster_retry_interval: millis(1000, 50, 3600000, 'First retry delay for dialling a peer from cluster_nodes or cluster_peers; doubles per failure up to cluster_retry_max_interval.'),
  cluster_retry_max_interval: millis(30000, 50, 3600000, 'Longest delay between dial retries of an unreachable peer.'),
  cluster_dial_timeout: millis(3000, 100, 600000, 'Time allowed to open a cluster connection (TCP, private-network handshake, noise, yamux).'),
  cluster_connection_ping_interval: millis(1000, 100, 600000, 'libp2p connection monitor ping; a connection that misses it is closed, which is how a hung (SIGSTOPped) peer\'s sockets are noticed.'),
  cluster_register_interval: millis(3000, 100, 3600000, 'How often a node refreshes its cluster_nodes row (last_seen) and looks there for peers to dial.'),
  cluster_node_live_window: millis(15000, 1000, 86400000, 'A cluster_nodes row whose last_seen is older than this is not dialled.'),
  cluster_dial_log_interval: millis(30000, 0, 86400000, 'At most one log line per unreachable peer per interval (the first failure is always logged).'),
  cluster_leave_timeout: millis(500, 0, 60000, 'On graceful stop, time given to the `left` announcement to reach peers before connections close.'),
  cluster_test_partitions: onOff('off', 'Chaos testing only: enables PUT /cluster/test/blocked, which makes this node refuse to talk to the listed peers (a network partition). Accepted only when admin_listen is on loopback.'),
};
