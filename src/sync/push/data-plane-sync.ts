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
// Whom to ask and what to do when none answers: control-plane-link.ts; when to ask: watch.ts;
// which versions are held: applied-through.ts; the on-disk cache: cache-writer.ts, level-store.ts.
import os from 'node:os';
import type { Cluster } from '../../cluster/index.ts';
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
import { PUSH_GAP_GRACE_MS, PUSH_MISMATCH_GRACE_MS } from '../timings.ts';
import { unpackEvents } from '../event-message.ts';
import type { ConfigSync, ReloadResult } from '../config-sync.ts';
import { handlePush, PUSH_PROTOCOL, type DataPlaneHello, type SyncRequest } from './protocol.ts';
import { AppliedThrough } from './applied-through.ts';
import { ControlPlaneLink, type Answer } from './control-plane-link.ts';
import { ControlPlaneWatch } from './watch.ts';

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
  /** How long a gap may wait before a control plane is asked (default PUSH_GAP_GRACE_MS, ../timings.ts). */
  gapGraceMs?: number;
  /** Same version, other hash than a control plane's for this long → fresh snapshot (default PUSH_MISMATCH_GRACE_MS). */
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
  private readonly applied = new AppliedThrough();
  private source: Source = 'none';
  private fullInFlight: Promise<void> | null = null;
  private eventsInFlight: Promise<void> | null = null;
  private readonly announcer: Announcer;
  private gapTimer: NodeJS.Timeout | null = null;
  private stopped = false;
  private readonly link: ControlPlaneLink;
  private watch: ControlPlaneWatch | null = null;
  lastSnapshot: SnapshotTiming | null = null;
  /** Start-up: reading + verifying + loading the level cache, and process uptime when the proxy served it. */
  cacheLoadMs: number | null = null;
  servingSinceStartMs: number | null = null;
  readonly stats = { snapshots: 0, unchanged: 0, eventFetches: 0, pushedEvents: 0, gapRepairs: 0, mismatchResyncs: 0 };

  private readonly writer: CacheWriter;

  constructor(private readonly o: DataPlaneSyncOptions) {
    this.link = new ControlPlaneLink({
      log: o.log,
      controlPlanes: o.controlPlanes,
      stopped: () => this.stopped,
      serving: () =>
        this.cache.loaded
          ? `serving the ${this.source === 'cache' ? 'cached' : 'last'} configuration (version ${this.configVersion()}, hash ${this.configHash()})`
          : 'no configuration yet: the proxy answers 404 until a control plane answers',
      retry: () => void this.fullSync('retry'),
    });
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
    return this.link.connected;
  }

  get lastControlPlane(): string | null {
    return this.link.lastControlPlane;
  }

  get lastSyncAt(): number {
    return this.link.lastSyncAt;
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
      this.applied.through = 0;
      return false;
    }
    let journal = c.journal?.events ?? [];
    if (c.journal) {
      const accepted = this.cache.apply(journal);
      for (const e of journal) this.applied.track(e.config_version);
      this.applied.advance();
      if (this.cache.configHash !== c.journal.config_hash) {
        this.log.warn({ expected: c.journal.config_hash, got: this.cache.configHash }, `data-plane cache ${this.o.store.dir}: the changes journaled since the snapshot lead to config_hash ${this.cache.configHash}, saved as ${c.journal.config_hash}; serving the snapshot without them`);
        // The journal's versions were tracked as applied: forget them with its events.
        this.applied.forgetAhead();
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
    this.link.cluster = cluster;
    this.link.net = net;
    // Change events pushed by the control plane that made them. Any status: a control plane we
    // took for failed on a busy machine but that pushes to us is alive, and its change must not
    // wait for a repair. A lost push is repaired by asking (a gap, a control plane announcing a
    // higher config_version, a reconnect).
    void handlePush(cluster.libp2p, (data, peer) => {
      if (cluster.members().some((m) => m.peer_id === peer && m.role === 'control_plane')) this.receive(data);
    }).catch((err: Error) => this.log.warn({ err: err.message }, 'cannot receive pushed change events; relying on repairs by asking'));
    this.watch = new ControlPlaneWatch(cluster, {
      log: this.log,
      stopped: () => this.stopped,
      loaded: () => this.cache.loaded,
      configVersion: () => this.configVersion(),
      cacheHash: () => this.cache.configHash,
      fullSync: (reason) => this.fullSync(reason),
      fetchEvents: (reason) => this.fetchEvents(reason),
      controlPlaneLost: () => this.link.checkLostAll({ config_version: this.configVersion(), config_hash: this.configHash() }),
      mismatchGraceMs: this.o.mismatchGraceMs ?? PUSH_MISMATCH_GRACE_MS,
      stats: this.stats,
    });
    this.watch.start();
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
    return { ok: this.link.connected, config_version: this.configVersion(), config_hash: this.configHash(), from: this.lastControlPlane ?? 'a control plane' };
  }

  notReady(): string | null {
    // Ready once a configuration is held (from a control plane, or the on-disk cache), never while every request would get 404.
    return this.cache.loaded ? null : 'no configuration received from a control plane yet';
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.writer.flush().catch((err) => this.log.warn({ err: (err as Error).message }, 'could not write the data-plane cache on stop'));
    this.announcer.stop();
    this.link.stop();
    if (this.gapTimer) clearTimeout(this.gapTimer);
    this.watch?.stop();
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
        control_plane_connected: this.link.connected,
        control_plane: this.link.lastControlPlane,
        last_sync: this.link.lastSyncAt ? new Date(this.link.lastSyncAt).toISOString() : null,
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
    this.applied.moveTo(Math.max(v, 0));
    for (const e of buffered) this.applied.track(e.config_version);
    this.applied.advance();
    return buffered;
  }

  private applyEvents(events: ChangeEvent[]): void {
    const accepted = this.cache.apply(events);
    for (const e of events) this.applied.track(e.config_version);
    this.applied.advance();
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
    if (this.applied.gap) this.scheduleGapCheck();
  }

  private scheduleGapCheck(): void {
    if (this.gapTimer) return;
    this.gapTimer = setTimeout(() => {
      this.gapTimer = null;
      if (this.stopped || !this.applied.gap) return;
      this.stats.gapRepairs++;
      void this.fetchEvents('gap');
    }, this.o.gapGraceMs ?? PUSH_GAP_GRACE_MS);
    this.gapTimer.unref();
  }

  // ---- talking to control planes ------------------------------------------------------

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
      const { res, bytes, label, fetchMs } = await this.link.ask(req, this.o.requestTimeoutMs ?? 30_000);
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
      this.link.succeeded(label);
    } catch (err) {
      this.link.failed(err, reason);
    } finally {
      if (!loaded) {
        const buffered = this.cache.abortLoad();
        if (buffered.length) {
          for (const e of buffered) this.applied.track(e.config_version);
          this.applied.advance();
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
      let r: Answer;
      try {
        r = await this.link.ask({ t: 'events', since: this.applied.through, dp: this.o.hello }, this.o.requestTimeoutMs ?? 30_000);
      } catch (err) {
        this.link.failed(err, reason);
        return;
      }
      const res = r.res;
      if (res.t === 'snapshot-needed') {
        this.log.info({ control_plane: r.label, reason: res.reason }, 'missing events are not available; fetching a full snapshot');
        await this.fullSync(`events unavailable: ${res.reason}`);
        return;
      }
      if (res.t !== 'events') return;
      this.link.succeeded(r.label);
      if (res.events.length) this.applyEvents(res.events);
      if (res.through > this.applied.through) {
        this.applied.moveTo(res.through);
        this.applied.advance();
      }
      this.log.debug({ control_plane: r.label, events: res.events.length, through: res.through, reason }, 'fetched missing events');
      if (res.events.length < 1000) return;
    }
  }

  private announce(): void {
    this.announcer.schedule();
  }
}

export function dataPlaneHello(o: { nodeId: string; name: string; version: string }): DataPlaneHello {
  return { node_id: o.nodeId, name: o.name, hostname: os.hostname(), version: o.version };
}
