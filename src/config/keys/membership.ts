import { bool, int, key } from '../key.ts';

// Membership timings. Names and roles follow HashiCorp memberlist's DefaultLANConfig
// (ProbeInterval, ProbeTimeout, SuspicionMult, ...), in milliseconds. memberlist's LAN
// defaults detect a dead node in about 5 s; Gossamer's targets are 2 s for a killed process
// and 3 s for a hung one with no false failures on a loaded 2-core machine, hence the values.
export const membershipKeys = {
  cluster_probe_interval: key(int(10, 60000), '250', 'milliseconds, 10-60000', 'Time between probes: each member pings ONE member per interval (shuffled round-robin), so probing costs O(1) per node whatever the cluster size. memberlist LAN: 1000. 250 gets every member probed by some peer within about 250 ms in a 5-node cluster (the hung-process target of 3 s) for 4 pings a second per node.'),
  cluster_probe_timeout: key(int(5, 60000), '250', 'milliseconds, 5-60000', 'How long a direct ping may take before indirect probes are asked for; the indirect phase then gets twice this. Stretched by local health (cluster_awareness_max_multiplier) when this node is slow. memberlist LAN: 500. Loopback and LAN round trips are ~1 ms; 250 leaves room for a busy event loop.'),
  cluster_indirect_checks: key(int(0, 16), '3', '0-16', 'Members asked to ping a member that did not answer a direct ping, before it is suspected (memberlist IndirectChecks: 3). Protects against a single bad link.'),
  cluster_suspicion_mult: key(int(1, 100), '4', '1-100', 'Suspicion timeout = mult * max(1, log10(members)) * cluster_probe_interval once enough members confirm (memberlist SuspicionMult: 4). With 250 ms that is 1 s up to 10 members, 2 s at 100: the time a suspected member has to refute, after it already failed a direct and the indirect probes.'),
  cluster_suspicion_max_timeout_mult: key(int(1, 100), '6', '1-100', 'A suspicion nobody else confirms waits this many times the minimum (memberlist SuspicionMaxTimeoutMult: 6): a lone, possibly slow, accuser cannot fail a member quickly.'),
  cluster_awareness_max_multiplier: key(int(1, 100), '8', '1-100', 'Lifeguard local health: probe interval and timeout are multiplied by up to this when this node itself is late (missed nacks, refuting suspicions of itself, event-loop stalls) (memberlist AwarenessMaxMultiplier: 8).'),
  cluster_gossip_interval: key(int(10, 60000), '500', 'milliseconds, 10-60000', 'Gossipsub heartbeat: mesh repair and lazy (IHAVE) gossip to peers outside the mesh. State changes themselves are published immediately (memberlist GossipInterval: 200 plays this role).'),
  cluster_push_pull_interval: key(int(100, 3600000), '10000', 'milliseconds, 100-3600000', 'Full-state exchange with one random member (anti-entropy for anything gossip missed). memberlist LAN: 30000; the state is small (a few hundred bytes a member).'),
  cluster_reap_interval: key(int(100, 3600000), '15000', 'milliseconds, 100-3600000', 'How often failed and left members past cluster_reap_timeout are removed (serf ReapInterval: 15 s).'),
  cluster_reap_timeout: key(int(1000, 604800000), '3600000', 'milliseconds, 1000-604800000', 'How long a failed or left member stays listed in /cluster/members before it is removed (DELETE /cluster/members/{id} removes it at once).'),
  cluster_retry_interval: key(int(50, 3600000), '1000', 'milliseconds, 50-3600000', 'First retry delay for dialling a peer from cluster_nodes or cluster_peers; doubles per failure up to cluster_retry_max_interval.'),
  cluster_retry_max_interval: key(int(50, 3600000), '30000', 'milliseconds, 50-3600000', 'Longest delay between dial retries of an unreachable peer.'),
  cluster_dial_timeout: key(int(100, 600000), '3000', 'milliseconds, 100-600000', 'Time allowed to open a cluster connection (TCP, private-network handshake, noise, yamux).'),
  cluster_connection_ping_interval: key(int(100, 600000), '1000', 'milliseconds, 100-600000', 'libp2p connection monitor ping; a connection that misses it is closed, which is how a hung (SIGSTOPped) peer\'s sockets are noticed.'),
  cluster_register_interval: key(int(100, 3600000), '3000', 'milliseconds, 100-3600000', 'How often a node refreshes its cluster_nodes row (last_seen) and looks there for peers to dial.'),
  cluster_node_live_window: key(int(1000, 86400000), '15000', 'milliseconds, 1000-86400000', 'A cluster_nodes row whose last_seen is older than this is not dialled.'),
  cluster_dial_log_interval: key(int(0, 86400000), '30000', 'milliseconds, 0-86400000', 'At most one log line per unreachable peer per interval (the first failure is always logged).'),
  cluster_leave_timeout: key(int(0, 60000), '500', 'milliseconds, 0-60000', 'On graceful stop, time given to the `left` announcement to reach peers before connections close.'),
  cluster_test_partitions: key(bool(), 'off', 'on or off', 'Chaos testing only: enables PUT /cluster/test/blocked, which makes this node refuse to talk to the listed peers (a network partition). Accepted only when admin_listen is on loopback.'),
};
