// A data plane's link to its control planes: whom to ask (members with the highest
// config_version first, then the configured addresses), asking, and what the data plane says
// and does when none answers (log once, retry with a backoff up to 5 s).
import type { PeerId } from '@libp2p/interface';
import type { Multiaddr } from '@multiformats/multiaddr';
import type { Cluster } from '../../cluster/index.ts';
import type { Logger } from '../../log.ts';
import type * as DpNet from './dp-net.ts';
import { syncRequest, type SyncRequest, type SyncResponse } from './protocol.ts';

export interface ControlPlaneLinkOptions {
  log: Logger;
  /** cluster_control_plane entries (host:port or multiaddr), tried when membership knows no control plane yet. */
  controlPlanes: string[];
  stopped(): boolean;
  /** What the data plane serves meanwhile, for the log line when no control plane answers. */
  serving(): string;
  /** Ask again (a full sync), after the backoff. */
  retry(): void;
}

export interface Answer {
  res: SyncResponse;
  bytes: number;
  label: string;
  fetchMs: number;
}

export class ControlPlaneLink {
  cluster: Cluster | null = null;
  /** ./dp-net.ts, loaded by the caller once the proxy serves. */
  net: typeof DpNet | null = null;
  /** The last request to a control plane succeeded. */
  connected = false;
  lastSyncAt = 0;
  lastControlPlane: string | null = null;
  private everConnected = false;
  private retryTimer: NodeJS.Timeout | null = null;
  private retryMs = 500;
  private lastFailLog = 0;

  constructor(private readonly o: ControlPlaneLinkOptions) {}

  /** Control planes to ask, best first: members with the highest config_version, then the configured addresses. */
  private targets(): { label: string; target: PeerId | Multiaddr }[] {
    const out: { label: string; target: PeerId | Multiaddr }[] = [];
    const net = this.net;
    if (!net) return out;
    const members = (this.cluster?.members() ?? [])
      .filter((m) => m.role === 'control_plane' && !m.self && (m.status === 'alive' || m.status === 'suspect'))
      .sort((a, b) => b.config_version - a.config_version);
    for (const m of members) {
      try {
        out.push({ label: m.name, target: net.peerIdFromString(m.peer_id) });
      } catch {
        /* malformed peer id: skip */
      }
    }
    for (const entry of this.o.controlPlanes) {
      if (members.some((m) => m.address === entry)) continue;
      try {
        out.push({ label: entry, target: net.peerToMultiaddr(entry) });
      } catch {
        /* checked by the configuration loader */
      }
    }
    return out;
  }

  async ask(req: SyncRequest, timeoutMs: number): Promise<Answer> {
    if (!this.cluster) throw new Error('the cluster is not started');
    const errors: string[] = [];
    for (const t of this.targets()) {
      const t0 = performance.now();
      try {
        const r = await syncRequest(this.cluster.libp2p, t.target, req, timeoutMs);
        if (r.res.t === 'error') throw new Error(r.res.message);
        const member = this.cluster.members().find((m) => m.peer_id === r.peer);
        return { res: r.res, bytes: r.bytes, label: member?.name ?? t.label, fetchMs: performance.now() - t0 };
      } catch (err) {
        errors.push(`${t.label}: ${this.net!.describeDialError(err)}`);
      }
    }
    throw new Error(errors.length ? errors.join('; ') : 'no control plane is known (cluster_control_plane is empty)');
  }

  succeeded(label: string): void {
    const log = this.o.log;
    if (!this.connected) {
      log.info({ control_plane: label }, this.everConnected ? `control plane ${label} reachable again` : `connected to control plane ${label}`);
    }
    this.connected = true;
    this.everConnected = true;
    this.lastControlPlane = label;
    this.lastSyncAt = Date.now();
    this.retryMs = 500;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = null;
  }

  failed(err: unknown, reason: string): void {
    if (this.o.stopped()) return;
    const log = this.o.log;
    const why = (err as Error)?.message ?? String(err);
    const now = Date.now();
    const wasConnected = this.connected;
    this.connected = false;
    if (wasConnected || this.lastFailLog === 0 || now - this.lastFailLog > 30_000) {
      this.lastFailLog = now;
      log.warn({ reason, error: why }, `no control plane answered (${why}); ${this.o.serving()}`);
    } else {
      log.debug({ reason, error: why }, 'control plane still unreachable');
    }
    if (!this.retryTimer) {
      this.retryTimer = setTimeout(() => {
        this.retryTimer = null;
        this.o.retry();
      }, this.retryMs);
      this.retryTimer.unref();
      this.retryMs = Math.min(this.retryMs * 2, 5000);
    }
  }

  /** A control plane failed or left: when it was the last one, say so once and keep retrying. */
  checkLostAll(held: { config_version: number; config_hash: string }): void {
    const alive = (this.cluster?.members() ?? []).some((m) => m.role === 'control_plane' && (m.status === 'alive' || m.status === 'suspect'));
    if (alive || !this.connected) return;
    this.connected = false;
    this.o.log.warn(held, `lost every control plane; serving the last configuration (version ${held.config_version}) until one returns`);
    this.failed(new Error('every control plane left or failed'), 'control planes lost');
  }

  stop(): void {
    if (this.retryTimer) clearTimeout(this.retryTimer);
  }
}
