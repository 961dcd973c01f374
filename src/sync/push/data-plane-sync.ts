// The data plane's copy of the configuration and how it stays current:
//   1. at start, the last good snapshot from the level cache (served at once);
//   2. a snapshot from a control plane (/gossamer/sync/1.0.0), skipped when ours is current;
//   3. change events pushed by the control plane where they were made (/gossamer/push/2.0.0),
//      applied last-writer-wins by config_version. A data plane does not subscribe to the
//      events topic: the gossiped copy of a pushed change cost each data plane's primary a
//      signature check and four relays to the other data planes per change, on the same cores
//      that must apply it (see docs/hybrid.md);
//   4. a gap in versions → the missing events from the control plane (or a snapshot when
//      they are no longer kept); a control plane announcing a higher config_version, or the
//      same version with another config_hash, → the same repair, so a lost push
//      or a change made while apart always ends in the control plane's configuration.
import os from 'node:os';
import type { PeerId } from '@libp2p/interface';
import type { Multiaddr } from '@multiformats/multiaddr';
import type { Cluster, MemberView } from '../../cluster/index.ts';
import { NodeCache } from '../../cache/node-cache.ts';
import { ENTITY_NAMES } from '../../cache/entity-store.ts';
import type { ChangeEvent, ConfigSnapshot } from '../../entities/types.ts';
import type { Logger } from '../../log.ts';
import { CacheWriter } from './cache-writer.ts';
import { decodeSnapshot } from '../codec.ts';
import type { DpCacheStore } from './level-store.ts';
import type * as DpNet from './dp-net.ts';
import { traceChanges } from '../trace.ts';
import { Announcer } from '../announce.ts';
import { unpackEvents } from '../event-message.ts';
import type { ConfigSync, ReloadResult } from '../config-sync.ts';
import { handlePush, PUSH_PROTOCOL, syncRequest, type DataPlaneHello, type SyncRequest, type SyncResponse } from './protocol.ts';

const EMPTY_HASH = '00000000000000000000000000000000';

export interface DataPlaneSyncOptions {
  log: Logger;
  store: DpCacheStore;
  hello: DataPlaneHello;
  /** cluster_control_plane entries (host:port or multiaddr), tried when membership knows no control plane yet. */
  controlPlanes: string[];
  /**
   * The configuration was replaced: rebuild the proxy. Called before this process loads the
   * snapshot (the proxy must not wait for that), so it must not keep or change `snapshot`
   * beyond the call. May return a promise that settles when the proxy serves it.
   */
  onSnapshot(snapshot: ConfigSnapshot): Promise<void> | void;
  onEvents(events: ChangeEvent[]): void;
  requestTimeoutMs?: number;
  /**
   * How long a gap may wait before a control plane is asked (default 50): changes made on two
   * control planes at once reach us on two streams, in either order.
   */
  gapGraceMs?: number;
  /** Same version, other hash than a control plane's for this long → fresh snapshot (default 2000). */
  mismatchGraceMs?: number;
  persistDelayMs?: number;
}

export interface SnapshotTiming {
  config_version: number;
  config_hash: string;
  from: string;
  bytes: number;
  fetch_ms: number;
  decode_ms: number;
  apply_ms: number;
  total_ms: number;
  at: string;
}

type Source = 'none' | 'cache' | 'control_plane';

export class DataPlaneSync implements ConfigSync {
  cache = new NodeCache();
  private cluster: Cluster | null = null;
  private net: typeof DpNet | null = null;
  /** Every version <= through is applied, dead or in a snapshot we loaded. */
  private through = 0;
  private ahead = new Set<number>();
  private source: Source = 'none';
  private connected = false;
  private everConnected = false;
  private fullInFlight: Promise<void> | null = null;
  private eventsInFlight: Promise<void> | null = null;
  private retryTimer: NodeJS.Timeout | null = null;
  private retryMs = 500;
  private watchTimer: NodeJS.Timeout | null = null;
  private readonly announcer: Announcer;
  private gapTimer: NodeJS.Timeout | null = null;
  private behindSince = 0;
  private mismatchSince = 0;
  private nextMismatchAt = 0;
  private lastFailLog = 0;
  private stopped = false;
  private unlisten: (() => void) | null = null;
  lastSnapshot: SnapshotTiming | null = null;
  /** Start-up: reading + verifying + loading the level cache, and process uptime when the proxy served it. */
  cacheLoadMs: number | null = null;
  servingSinceStartMs: number | null = null;
  lastSyncAt = 0;
  lastControlPlane: string | null = null;
  readonly stats = { snapshots: 0, unchanged: 0, eventFetches: 0, pushedEvents: 0, gapRepairs: 0, mismatchResyncs: 0 };

  private readonly writer: CacheWriter;

  constructor(private readonly o: DataPlaneSyncOptions) {
    this.writer = new CacheWriter({
      store: o.store,
      log: o.log,
      cache: () => this.cache,
      source: () => this.lastControlPlane ?? 'events',
      encodeDelayMs: o.persistDelayMs,
    });
    // Nothing is announced before a configuration is held: config_version 0 would look like a reset.
    this.announcer = new Announcer(
      () => this.cluster,
      () => (this.cache.loaded ? { config_version: this.cache.configVersion, config_hash: this.cache.configHash } : null),
      o.log,
    );
  }

  private get log(): Logger {
    return this.o.log;
  }

  configHash(): string {
    return this.cache.loaded ? this.cache.configHash : EMPTY_HASH;
  }

  /** The last request to a control plane succeeded. */
  get controlPlaneConnected(): boolean {
    return this.connected;
  }

  configVersion(): number {
    return this.cache.loaded ? this.cache.configVersion : 0;
  }

  /** Load the level cache; true when a verified configuration was loaded. */
  async loadFromDisk(): Promise<boolean> {
    const t0 = performance.now();
    const c = await this.o.store.read();
    if (!c) return false;
    this.load(c.snapshot);
    if (this.cache.configHash !== c.meta.config_hash) {
      this.log.warn({ expected: c.meta.config_hash, got: this.cache.configHash }, `data-plane cache ${this.o.store.dir} is corrupt (config_hash ${this.cache.configHash}, saved as ${c.meta.config_hash}); ignoring it, waiting for a control plane`);
      this.cache = new NodeCache();
      this.through = 0;
      return false;
    }
    let journal = c.journal?.events ?? [];
    if (c.journal) {
      const accepted = this.cache.apply(journal);
      for (const e of journal) this.track(e.config_version);
      this.advance();
      if (this.cache.configHash !== c.journal.config_hash) {
        this.log.warn({ expected: c.journal.config_hash, got: this.cache.configHash }, `data-plane cache ${this.o.store.dir}: the changes journaled since the snapshot lead to config_hash ${this.cache.configHash}, saved as ${c.journal.config_hash}; serving the snapshot without them`);
        // The journal's versions were tracked as applied: forget them with its events.
        this.ahead.clear();
        this.load(c.snapshot);
        journal = [];
      } else if (accepted.length !== journal.length) journal = accepted;
    }
    this.writer.loaded({ config_version: c.meta.config_version, config_hash: c.meta.config_hash }, journal, c.meta.saved_at);
    this.cacheLoadMs = Math.round(performance.now() - t0);
    this.source = 'cache';
    this.log.info(
      { config_version: this.cache.configVersion, config_hash: this.cache.configHash, saved_at: c.meta.saved_at, journaled_changes: journal.length, from: c.meta.source, ms: Math.round(performance.now() - t0) },
      `loaded the cached configuration (version ${this.cache.configVersion}, saved ${c.meta.saved_at}); serving it until a control plane answers`,
    );
    return true;
  }

  /** Join the cluster: `net` is ./dp-net.ts, loaded by the caller once the proxy serves. */
  attach(cluster: Cluster, net: typeof DpNet): void {
    this.cluster = cluster;
    this.net = net;
    // Change events pushed by the control plane that made them. Any status: a control plane we
    // took for failed on a busy machine but that pushes to us is alive, and its change must not
    // wait for a repair. A lost push is repaired by asking (a gap, a control plane announcing a
    // higher config_version, a reconnect).
    void handlePush(cluster.libp2p, (data, peer) => {
      if (cluster.members().some((m) => m.peer_id === peer && m.role === 'control_plane')) this.receive(data);
    }).catch((err: Error) => this.log.warn({ err: err.message }, 'cannot receive pushed change events; relying on repairs by asking'));
    const isCp = (m: MemberView) => m.role === 'control_plane';
    cluster.on('member-joined', (m) => {
      if (isCp(m)) void this.fullSync(`control plane ${m.name} joined`);
    });
    cluster.on('member-updated', (m, prev) => {
      if (!isCp(m)) return;
      if (m.status === 'alive' && prev.previous_status !== 'alive' && prev.previous_status !== 'suspect') {
        // Back (a restart, or a false failure on a busy machine): what it has that we lack is
        // usually a few events; a control plane behind us (a restored database) gets a full look.
        if (this.cache.loaded && m.config_version >= this.configVersion()) void this.fetchEvents(`control plane ${m.name} is back`);
        else void this.fullSync(`control plane ${m.name} is back`);
      } else this.watch();
    });
    // A new connection to a control plane may follow an outage too short for membership to
    // notice: what was pushed meanwhile is lost, so ask for it now.
    const onConnect = (evt: CustomEvent<{ toString(): string }>) => {
      const peer = evt.detail.toString();
      if (cluster.members().some((m) => m.peer_id === peer && m.role === 'control_plane')) void this.fetchEvents('control plane reconnected');
    };
    cluster.libp2p.addEventListener('peer:connect', onConnect);
    this.unlisten = () => cluster.libp2p.removeEventListener('peer:connect', onConnect);
    cluster.on('member-failed', (m) => {
      if (isCp(m)) this.checkLostAll();
    });
    cluster.on('member-left', (m) => {
      if (isCp(m)) this.checkLostAll();
    });
    this.watchTimer = setInterval(() => this.watch(), 1000);
    this.watchTimer.unref();
    this.announce();
  }

  /** Ask the control planes for their configuration (once attached: the cluster is how they are reached). */
  async start(): Promise<void> {
    void this.fullSync('start');
  }

  /**
   * `gossamer reload`: a control plane answers "current" when our hash is already its own;
   * either way the workers get the configuration again and rebuild their routers and balancers.
   */
  async reload(reason = 'reload'): Promise<ReloadResult> {
    await this.fullSync(reason);
    // Handed over, not awaited: the reload answers once the control plane did, as it always has.
    if (this.cache.loaded) void Promise.resolve(this.o.onSnapshot(this.cache.snapshot())).catch(() => {});
    return { ok: this.connected, config_version: this.configVersion(), config_hash: this.configHash(), from: this.lastControlPlane ?? 'a control plane' };
  }

  notReady(): string | null {
    // Ready once a configuration is held (from a control plane, or the on-disk cache), never while every request would get 404.
    return this.cache.loaded ? null : 'no configuration received from a control plane yet';
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.writer.flush().catch((err) => this.log.warn({ err: (err as Error).message }, 'could not write the data-plane cache on stop'));
    this.announcer.stop();
    for (const t of [this.retryTimer, this.gapTimer]) if (t) clearTimeout(t);
    if (this.watchTimer) clearInterval(this.watchTimer);
    this.unlisten?.();
    await this.cluster?.libp2p.unhandle(PUSH_PROTOCOL).catch(() => {});
    await Promise.allSettled([this.fullInFlight, this.eventsInFlight]);
  }

  status(): { configuration_hash: string; config_version: number; hybrid: Record<string, unknown> } {
    return {
      configuration_hash: this.configHash(),
      config_version: this.configVersion(),
      hybrid: {
        role: 'data_plane',
        source: this.source,
        control_plane_connected: this.connected,
        control_plane: this.lastControlPlane,
        last_sync: this.lastSyncAt ? new Date(this.lastSyncAt).toISOString() : null,
        cache_saved_at: this.writer.savedAt,
        cache_load_ms: this.cacheLoadMs,
        serving_since_process_start_ms: this.servingSinceStartMs,
        last_snapshot: this.lastSnapshot,
        stats: { ...this.stats },
      },
    };
  }

  // ---- applying ----------------------------------------------------------------------

  /** Replace the whole configuration (from the cache or a control plane). */
  private load(snapshot: ConfigSnapshot): ChangeEvent[] {
    const v = snapshot.config_version;
    const entityVersions = new Map<string, number>();
    for (const name of ENTITY_NAMES) {
      for (const e of snapshot[name] ?? []) entityVersions.set(`${name}:${e.id}`, v);
    }
    const buffered = this.cache.load(snapshot, { versions: v > 0 ? [v] : [], entityVersions, xmax: 0n });
    this.through = Math.max(v, 0);
    for (const u of this.ahead) if (u <= this.through) this.ahead.delete(u);
    for (const e of buffered) this.track(e.config_version);
    this.advance();
    return buffered;
  }

  private track(v: number): void {
    if (v > this.through) this.ahead.add(v);
  }

  private advance(): void {
    while (this.ahead.has(this.through + 1)) {
      this.ahead.delete(this.through + 1);
      this.through++;
    }
  }

  private applyEvents(events: ChangeEvent[]): void {
    const accepted = this.cache.apply(events);
    for (const e of events) this.track(e.config_version);
    this.advance();
    if (accepted.length) {
      traceChanges('applied', accepted);
      try {
        this.o.onEvents(accepted);
      } catch (err) {
        this.log.error({ err }, 'the proxy failed to apply change events');
      }
      traceChanges('ipc', accepted);
      this.writer.events(accepted);
    }
    this.announce();
  }

  /** A pushed message: the bytes a control plane published on the events topic. */
  receive(data: Uint8Array): void {
    if (this.stopped || !this.cache.loaded) return; // without a base the first snapshot brings everything
    let events: ChangeEvent[];
    try {
      const list = unpackEvents(data) as ChangeEvent[] | null;
      if (!list) return;
      events = list.filter((e) => !!e && Number.isSafeInteger(e.config_version) && typeof e.entity === 'string' && typeof e.entity_id === 'string');
    } catch (err) {
      this.log.warn({ err: (err as Error).message }, 'dropping an undecodable change-event message');
      return;
    }
    this.stats.pushedEvents += events.length;
    traceChanges('push', events);
    this.applyEvents(events);
    if (this.ahead.size) this.scheduleGapCheck();
  }

  private scheduleGapCheck(): void {
    if (this.gapTimer) return;
    this.gapTimer = setTimeout(() => {
      this.gapTimer = null;
      if (this.stopped || this.ahead.size === 0) return;
      this.stats.gapRepairs++;
      void this.fetchEvents('gap');
    }, this.o.gapGraceMs ?? 50);
    this.gapTimer.unref();
  }

  // ---- talking to control planes ------------------------------------------------------

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

  private async ask(req: SyncRequest, timeoutMs: number): Promise<{ res: SyncResponse; bytes: number; label: string; fetchMs: number }> {
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

  /** Get the control plane's whole configuration unless ours is already it. Single-flight. */
  fullSync(reason: string): Promise<void> {
    if (this.stopped) return Promise.resolve();
    this.fullInFlight ??= this.doFullSync(reason).finally(() => {
      this.fullInFlight = null;
    });
    return this.fullInFlight;
  }

  private async doFullSync(reason: string): Promise<void> {
    const t0 = performance.now();
    const req: SyncRequest = { t: 'snapshot', have_version: this.configVersion(), have_hash: this.cache.loaded ? this.cache.configHash : null, dp: this.o.hello };
    this.cache.beginLoad();
    let loaded = false;
    try {
      const { res, bytes, label, fetchMs } = await this.ask(req, this.o.requestTimeoutMs ?? 30_000);
      if (res.t === 'current') {
        this.stats.unchanged++;
        this.log.debug({ control_plane: label, config_version: res.config_version, reason }, 'configuration is current');
      } else if (res.t === 'snapshot') {
        const d0 = performance.now();
        const snapshot = await decodeSnapshot(res.data);
        const decodeMs = performance.now() - d0;
        const a0 = performance.now();
        // The proxy gets the configuration first and builds its router (in its workers) while
        // this process loads and hashes its own copy: at 10,000 routes these are the two
        // biggest parts of an apply, and they used to run one after the other.
        const live = this.o.onSnapshot(snapshot);
        const buffered = this.load(snapshot);
        loaded = true;
        if (buffered.length) this.o.onEvents(buffered);
        if (this.cache.configHash !== res.config_hash && this.cache.configVersion === res.config_version) {
          this.log.warn({ control_plane: label, expected: res.config_hash, got: this.cache.configHash }, 'snapshot config_hash differs from the control plane\'s; will retry');
        }
        await live;
        const applyMs = performance.now() - a0;
        this.stats.snapshots++;
        this.source = 'control_plane';
        this.lastSnapshot = {
          config_version: res.config_version,
          config_hash: res.config_hash,
          from: label,
          bytes,
          fetch_ms: Math.round(fetchMs),
          decode_ms: Math.round(decodeMs),
          apply_ms: Math.round(applyMs),
          total_ms: Math.round(performance.now() - t0),
          at: new Date().toISOString(),
        };
        this.log.info({ ...this.lastSnapshot, reason }, `configuration from control plane ${label}: version ${res.config_version}, ${bytes} bytes in ${this.lastSnapshot.total_ms} ms`);
        // The control plane's bytes are exactly what the cache keeps, unless events were buffered meanwhile.
        if (this.cache.configHash === res.config_hash) this.writer.snapshotBytes(res.data, label);
        else this.writer.reencodeSoon();
      } else if (res.t === 'snapshot-needed') {
        throw new Error(res.reason);
      } else {
        throw new Error(`unexpected answer ${res.t}`);
      }
      this.succeeded(label);
    } catch (err) {
      this.failed(err, reason);
    } finally {
      if (!loaded) {
        const buffered = this.cache.abortLoad();
        if (buffered.length) {
          for (const e of buffered) this.track(e.config_version);
          this.advance();
          this.o.onEvents(buffered);
          this.writer.reencodeSoon();
        }
      }
      this.announce();
    }
  }

  /** Events after `through` from a control plane; a snapshot when they cannot all be had. */
  fetchEvents(reason: string): Promise<void> {
    if (this.stopped || !this.cache.loaded) return Promise.resolve();
    if (this.fullInFlight) return this.fullInFlight;
    this.eventsInFlight ??= this.doFetchEvents(reason).finally(() => {
      this.eventsInFlight = null;
    });
    return this.eventsInFlight;
  }

  private async doFetchEvents(reason: string): Promise<void> {
    this.stats.eventFetches++;
    for (let round = 0; round < 50; round++) {
      let r: Awaited<ReturnType<DataPlaneSync['ask']>>;
      try {
        r = await this.ask({ t: 'events', since: this.through, dp: this.o.hello }, this.o.requestTimeoutMs ?? 30_000);
      } catch (err) {
        this.failed(err, reason);
        return;
      }
      const res = r.res;
      if (res.t === 'snapshot-needed') {
        this.log.info({ control_plane: r.label, reason: res.reason }, 'missing events are not available; fetching a full snapshot');
        await this.fullSync(`events unavailable: ${res.reason}`);
        return;
      }
      if (res.t !== 'events') return;
      this.succeeded(r.label);
      if (res.events.length) this.applyEvents(res.events);
      if (res.through > this.through) {
        this.through = res.through;
        for (const u of this.ahead) if (u <= this.through) this.ahead.delete(u);
        this.advance();
      }
      this.log.debug({ control_plane: r.label, events: res.events.length, through: res.through, reason }, 'fetched missing events');
      if (res.events.length < 1000) return;
    }
  }

  private succeeded(label: string): void {
    if (!this.connected) {
      this.log.info({ control_plane: label }, this.everConnected ? `control plane ${label} reachable again` : `connected to control plane ${label}`);
    }
    this.connected = true;
    this.everConnected = true;
    this.lastControlPlane = label;
    this.lastSyncAt = Date.now();
    this.retryMs = 500;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = null;
  }

  private failed(err: unknown, reason: string): void {
    if (this.stopped) return;
    const why = (err as Error)?.message ?? String(err);
    const now = Date.now();
    const wasConnected = this.connected;
    this.connected = false;
    if (wasConnected || this.lastFailLog === 0 || now - this.lastFailLog > 30_000) {
      this.lastFailLog = now;
      const serving = this.cache.loaded
        ? `serving the ${this.source === 'cache' ? 'cached' : 'last'} configuration (version ${this.configVersion()}, hash ${this.configHash()})`
        : 'no configuration yet: the proxy answers 404 until a control plane answers';
      this.log.warn({ reason, error: why }, `no control plane answered (${why}); ${serving}`);
    } else {
      this.log.debug({ reason, error: why }, 'control plane still unreachable');
    }
    if (!this.retryTimer) {
      this.retryTimer = setTimeout(() => {
        this.retryTimer = null;
        void this.fullSync('retry');
      }, this.retryMs);
      this.retryTimer.unref();
      this.retryMs = Math.min(this.retryMs * 2, 5000);
    }
  }

  private checkLostAll(): void {
    const alive = (this.cluster?.members() ?? []).some((m) => m.role === 'control_plane' && (m.status === 'alive' || m.status === 'suspect'));
    if (alive || !this.connected) return;
    this.connected = false;
    this.log.warn({ config_version: this.configVersion(), config_hash: this.configHash() }, `lost every control plane; serving the last configuration (version ${this.configVersion()}) until one returns`);
    this.failed(new Error('every control plane left or failed'), 'control planes lost');
  }

  /** Compare with what control planes announce; repair when behind or different. */
  private watch(): void {
    if (this.stopped || !this.cluster || !this.cache.loaded) return;
    const cps = this.cluster.members().filter((m) => m.role === 'control_plane' && m.status === 'alive');
    if (cps.length === 0) return;
    const now = Date.now();
    const mine = this.configVersion();
    const best = Math.max(...cps.map((m) => m.config_version));
    if (best > mine) {
      if (!this.behindSince) this.behindSince = now;
      // The push usually brings the events before the announcement; give it a moment.
      if (now - this.behindSince >= 300) {
        this.behindSince = now;
        void this.fetchEvents(`control plane at version ${best}`);
      } else {
        setTimeout(() => this.watch(), 320).unref();
      }
      return;
    }
    this.behindSince = 0;
    const differing = cps.filter((m) => m.config_version === mine && m.config_hash && m.config_hash !== this.cache.configHash);
    if (differing.length === 0) {
      this.mismatchSince = 0;
      return;
    }
    if (!this.mismatchSince) this.mismatchSince = now;
    if (now - this.mismatchSince < (this.o.mismatchGraceMs ?? 2000) || now < this.nextMismatchAt) return;
    this.stats.mismatchResyncs++;
    this.log.warn({ config_version: mine, config_hash: this.cache.configHash, control_planes: differing.map((m) => ({ name: m.name, config_hash: m.config_hash })) }, 'config_hash differs from the control plane\'s at the same version; fetching a fresh snapshot');
    this.mismatchSince = 0;
    this.nextMismatchAt = now + 10_000;
    void this.fullSync('hash mismatch');
  }

  private announce(): void {
    this.announcer.schedule();
  }
}

export function dataPlaneHello(o: { nodeId: string; name: string; version: string }): DataPlaneHello {
  return { node_id: o.nodeId, name: o.name, hostname: os.hostname(), version: o.version };
}
