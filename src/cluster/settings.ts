// The membership timings as startCluster takes them (milliseconds), derived from the keys of
// src/config/keys/membership.ts: type, default, range and reason are declared there once, and
// a key misspelt here is a type error rather than a silent fallback to a default.
import type { Config } from '../config/index.ts';
import { defaultsOf } from '../config/key.ts';
import { membershipKeys } from '../config/keys/membership.ts';

/** The configuration keys the membership timings come from (a whole Config will do). */
export type MembershipConfig = Pick<Config, keyof typeof membershipKeys>;

/** From a loaded Config: memberlist-style names, in the units startCluster uses. */
export function settingsFromConfig(c: MembershipConfig) {
  return {
    probe_interval_ms: c.cluster_probe_interval,
    probe_timeout_ms: c.cluster_probe_timeout,
    indirect_checks: c.cluster_indirect_checks,
    probe_rings: c.cluster_probe_rings,
    suspicion_mult: c.cluster_suspicion_mult,
    suspicion_max_timeout_mult: c.cluster_suspicion_max_timeout_mult,
    awareness_max_multiplier: c.cluster_awareness_max_multiplier,
    gossip_interval_ms: c.cluster_gossip_interval,
    push_pull_interval_ms: c.cluster_push_pull_interval,
    catch_up_interval_ms: c.cluster_catch_up_interval,
    reap_interval_ms: c.cluster_reap_interval,
    reap_timeout_ms: c.cluster_reap_timeout,
    retry_interval_ms: c.cluster_retry_interval,
    retry_max_interval_ms: c.cluster_retry_max_interval,
    dial_timeout_ms: c.cluster_dial_timeout,
    connection_ping_interval_ms: c.cluster_connection_ping_interval,
    register_interval_ms: c.cluster_register_interval,
    node_live_window_ms: c.cluster_node_live_window,
    dial_log_interval_ms: c.cluster_dial_log_interval,
    leave_timeout_ms: c.cluster_leave_timeout,
  };
}

export type MembershipSettings = ReturnType<typeof settingsFromConfig>;

/** The defaults of the membership keys, as startCluster uses them when given no settings. */
export const defaultSettings: MembershipSettings = settingsFromConfig(defaultsOf(membershipKeys));

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
