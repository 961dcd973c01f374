// IPC messages between a node's primary and its proxy workers (node:cluster, 'advanced'
// serialization so snapshots travel as structured clones, not JSON).
import type { ChangeEvent, ConfigSnapshot } from '../entities/types.ts';
import type { HealthReport } from './balancer/index.ts';
import type { ListenAddress, ProxyServerOptions } from './server.ts';

export type WorkerServerOptions = Pick<ProxyServerOptions, 'debounceMs' | 'headersTimeout' | 'requestTimeout' | 'keepAliveTimeout' | 'maxHeaderSize' | 'tls' | 'activeHealthChecks' | 'clientBodyTimeout' | 'sendTimeout' | 'maxRequestsPerSocket' | 'realIp' | 'allowDebugHeader'> & {
  /** Every proxy_listen entry, when there is more than one or one is `ssl` (else `listen`). */
  listeners?: ListenAddress[];
};

/**
 * A snapshot as a data plane stores it (src/sync/codec.ts bytes): the worker decodes it
 * itself, which costs less than the primary's structured clone of every row (a data plane
 * restarted from its cache hands its 10k routes over so).
 */
export interface PackedSnapshot {
  packed: Uint8Array;
}

/**
 * A snapshot already serialized (v8.serialize, the structured clone the IPC channel would make):
 * the primary serializes a whole configuration once and every worker gets the same bytes,
 * instead of the channel serializing it again for each worker.
 */
export interface SerializedSnapshot {
  v8: Uint8Array;
}

export type ToWorker =
  | { t: 'gossamer:init'; snapshot: ConfigSnapshot | PackedSnapshot; listen: { host: string; port: number }; nodeName: string; logLevel: string; options: WorkerServerOptions }
  | { t: 'gossamer:snapshot'; snapshot: ConfigSnapshot | PackedSnapshot | SerializedSnapshot }
  | { t: 'gossamer:events'; events: ChangeEvent[] }
  | { t: 'gossamer:rl-totals'; entries: [key: string, expiresAt: number, total: number, hold?: number][]; to: number; acked: [string, number, number][] }
  | { t: 'gossamer:rl-split'; n: number; place: number }
  | { t: 'gossamer:stats?'; id: number }
  | { t: 'gossamer:settled?'; id: number }
  | { t: 'gossamer:health'; reports: HealthReport[] }
  | { t: 'gossamer:plugin?'; id: number; plugin: string; msg: unknown }
  | { t: 'gossamer:stop' };

export type FromWorker =
  | { t: 'gossamer:hello' }
  | { t: 'gossamer:ready'; port: number }
  | { t: 'gossamer:rl'; entries: [string, number, number][] }
  | { t: 'gossamer:stats'; id: number; requests: number; pid: number }
  | { t: 'gossamer:settled'; id: number }
  | { t: 'gossamer:health'; reports: HealthReport[] }
  | { t: 'gossamer:plugin'; id: number; result: unknown }
  /** For the node's other workers (PluginEnv.tellSiblings); id 0 on the way out: no answer wanted. */
  | { t: 'gossamer:plugin-tell'; plugin: string; msg: unknown }
  | { t: 'gossamer:fatal'; error: string };
