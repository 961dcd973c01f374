// The membership timings as startCluster takes them (milliseconds), and the mapping from the
// configuration keys of src/config/keys/membership.ts.

export interface MembershipSettings {
  probe_interval_ms: number;
  probe_timeout_ms: number;
  indirect_checks: number;
  probe_rings: number;
  suspicion_mult: number;
  suspicion_max_timeout_mult: number;
  awareness_max_multiplier: number;
  gossip_interval_ms: number;
  push_pull_interval_ms: number;
  catch_up_interval_ms: number;
  reap_interval_ms: number;
  reap_timeout_ms: number;
  retry_interval_ms: number;
  retry_max_interval_ms: number;
  dial_timeout_ms: number;
  connection_ping_interval_ms: number;
  register_interval_ms: number;
  node_live_window_ms: number;
  dial_log_interval_ms: number;
  leave_timeout_ms: number;
}

export const defaultSettings: MembershipSettings = {
  probe_interval_ms: 250,
  probe_timeout_ms: 250,
  indirect_checks: 3,
  probe_rings: 4,
  suspicion_mult: 4,
  suspicion_max_timeout_mult: 6,
  awareness_max_multiplier: 8,
  gossip_interval_ms: 500,
  push_pull_interval_ms: 10000,
  catch_up_interval_ms: 1000,
  reap_interval_ms: 15000,
  reap_timeout_ms: 3600000,
  retry_interval_ms: 1000,
  retry_max_interval_ms: 30000,
  dial_timeout_ms: 3000,
  connection_ping_interval_ms: 1000,
  register_interval_ms: 3000,
  node_live_window_ms: 15000,
  dial_log_interval_ms: 30000,
  leave_timeout_ms: 500,
};

/** memberlist's DefaultLANConfig, for comparison runs (bench:membership). */
export const memberlistLanSettings: Partial<MembershipSettings> = {
  probe_interval_ms: 1000,
  probe_timeout_ms: 500,
  indirect_checks: 3,
  suspicion_mult: 4,
  suspicion_max_timeout_mult: 6,
  awareness_max_multiplier: 8,
  gossip_interval_ms: 200,
  push_pull_interval_ms: 30000,
};

/** From a loaded Config (keys of src/config/keys/membership.ts). */
export function settingsFromConfig(c: Record<string, unknown>): MembershipSettings {
  const n = (k: string, d: number) => (typeof c[k] === 'number' ? (c[k] as number) : d);
  const s = defaultSettings;
  return {
    probe_interval_ms: n('cluster_probe_interval', s.probe_interval_ms),
    probe_timeout_ms: n('cluster_probe_timeout', s.probe_timeout_ms),
    indirect_checks: n('cluster_indirect_checks', s.indirect_checks),
    probe_rings: n('cluster_probe_rings', s.probe_rings),
    suspicion_mult: n('cluster_suspicion_mult', s.suspicion_mult),
    suspicion_max_timeout_mult: n('cluster_suspicion_max_timeout_mult', s.suspicion_max_timeout_mult),
    awareness_max_multiplier: n('cluster_awareness_max_multiplier', s.awareness_max_multiplier),
    gossip_interval_ms: n('cluster_gossip_interval', s.gossip_interval_ms),
    push_pull_interval_ms: n('cluster_push_pull_interval', s.push_pull_interval_ms),
    catch_up_interval_ms: n('cluster_catch_up_interval', s.catch_up_interval_ms),
    reap_interval_ms: n('cluster_reap_interval', s.reap_interval_ms),
    reap_timeout_ms: n('cluster_reap_timeout', s.reap_timeout_ms),
    retry_interval_ms: n('cluster_retry_interval', s.retry_interval_ms),
    retry_max_interval_ms: n('cluster_retry_max_interval', s.retry_max_interval_ms),
    dial_timeout_ms: n('cluster_dial_timeout', s.dial_timeout_ms),
    connection_ping_interval_ms: n('cluster_connection_ping_interval', s.connection_ping_interval_ms),
    register_interval_ms: n('cluster_register_interval', s.register_interval_ms),
    node_live_window_ms: n('cluster_node_live_window', s.node_live_window_ms),
    dial_log_interval_ms: n('cluster_dial_log_interval', s.dial_log_interval_ms),
    leave_timeout_ms: n('cluster_leave_timeout', s.leave_timeout_ms),
  };
}
