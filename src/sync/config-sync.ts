// The one face configuration propagation shows the composition root (src/node/), whichever of the
// two strategies a role runs:
//   - gossip/: Postgres is the source of truth; change events are gossiped between nodes and
//     gaps repaired from cluster_events (traditional nodes and control planes);
//   - push/: a control plane pushes change events and serves snapshots to data planes, which
//     keep the last configuration on disk (data planes).
// Either way the cache of record behind it feeds the proxy (admin → db → sync → cache → proxy).

/** What `gossamer reload` reports: whether the source answered, and what the node now holds. */
export interface ReloadResult {
  ok: boolean;
  config_version: number;
  config_hash: string;
  /** The source read, for the log line: "the database", or the control plane's name. */
  from: string;
}

export interface ConfigSync {
  /** Begin keeping the configuration current (a first load may or may not be awaited: see each strategy). */
  start(): Promise<void>;
  stop(): Promise<void>;
  /** Highest config_version applied: what the node announces to the cluster. */
  configVersion(): number;
  configHash(): string;
  /** For /status: each strategy's own fields, config_version among them. */
  status(): { config_version: number };
  /**
   * Why the node is not ready for /status/ready (Kong 3's readiness probe), or null when it is:
   * a traditional node without Postgres cannot take writes; a data plane without any
   * configuration would answer every request with 404.
   */
  notReady(): string | null;
  /** Read the whole configuration again from its source and hand it to the proxy (`gossamer reload`). */
  reload(): Promise<ReloadResult>;
}
