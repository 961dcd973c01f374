// The configuration of a DB-less node (database = off, cluster_role = traditional): a whole
// declarative configuration, from the declarative_config file at start or from POST /config,
// replaced as one piece. A replacement is checked completely before anything changes, handed
// to every proxy worker (each swaps its router and plugins in one step, so no request sees half
// of it), and kept on disk (<prefix>/dbless-cache, the data plane's store) so a restart without
// declarative_config serves the last one applied, as Kong's LMDB does.
import path from 'node:path';
import type { ConfigSnapshot } from '../../entities/types.ts';
import type { Logger } from '../../log.ts';
import { configHash } from '../../cache/config-hash.ts';
import { EntityStore } from '../../cache/entity-store.ts';
import type { ConfigSync, ReloadResult } from '../config-sync.ts';
import { encodeSnapshot } from '../codec.ts';
import { DpCacheStore } from '../push/level-store.ts';

export interface DblessProxy {
  loadSnapshot(snapshot: ConfigSnapshot): void;
  settled(timeoutMs?: number): Promise<void>;
}

/**
 * How long a replacement waits for the workers to serve it before answering anyway: a worker
 * builds its router from 10,000 routes in about a second; one that is stuck must not hold the
 * Admin API for ever (it is restarted by the primary and gets the configuration at its hello).
 */
const SETTLE_MS = 30_000;

/** What a configuration came with: the hash POST /config?check_hash=1 compares, and where it came from. */
export interface ConfigOrigin {
  /** md5 of the text as received (Kong's declarative hash), or null when it was not text. */
  textHash: string | null;
  source: string;
}

export class DblessConfig implements ConfigSync {
  /** What the Admin API reads: replaced whole, once the workers serve the same configuration. */
  store = new EntityStore();
  private snap: ConfigSnapshot;
  private pending: ConfigSnapshot | null = null;
  private hash: string;
  private version = 0;
  private origin: ConfigOrigin = { textHash: null, source: 'empty' };
  private applying: Promise<unknown> = Promise.resolve();
  /** The write of the last replacement to disk (stop() waits for it). */
  private persisting: Promise<void> = Promise.resolve();
  private readonly disk: DpCacheStore;
  /** The running configuration encoded (what is stored and what other DB-less nodes fetch). */
  private packedCache: { version: number; bytes: Promise<Uint8Array> } | null = null;
  proxy: DblessProxy | null = null;
  /** Called after each replacement (the cluster announces the new config_version / config_hash). */
  onReplaced: ((r: { config_version: number; config_hash: string }) => void) | null = null;

  constructor(
    private readonly o: { prefix: string; log: Logger; reload?: () => Promise<{ snapshot: ConfigSnapshot; origin: ConfigOrigin; version: number } | null> },
    initial: ConfigSnapshot,
  ) {
    this.snap = initial;
    this.hash = configHash(initial);
    this.store.load(initial);
    this.disk = new DpCacheStore(path.join(o.prefix, 'dbless-cache'), o.log);
  }

  /** The last configuration applied on this node (POST /config), or null. */
  async readLast(): Promise<{ snapshot: ConfigSnapshot; origin: ConfigOrigin; version: number } | null> {
    const cached = await this.disk.read();
    if (!cached || configHash(cached.snapshot) !== cached.meta.config_hash) return null;
    let origin: ConfigOrigin = { textHash: null, source: cached.meta.source };
    try {
      origin = JSON.parse(cached.meta.source) as ConfigOrigin;
    } catch {
      // not written by this class: its source is kept as a name
    }
    return { snapshot: cached.snapshot, origin, version: cached.meta.config_version };
  }

  /** Set before the proxy serves (start-up): no workers to wait for yet. */
  adopt(snapshot: ConfigSnapshot, origin: ConfigOrigin, version: number): void {
    this.snap = { ...snapshot, config_version: version };
    this.hash = configHash(snapshot);
    this.version = version;
    this.origin = origin;
    this.store.load(this.snap);
  }

  /**
   * Replace the whole configuration. Replacements run one at a time, in arrival order; each
   * resolves once every proxy worker serves it. `version` orders configurations across the
   * cluster (newest wins); a local one takes the next after what this node holds.
   * `whileWorkersLoad` runs once the workers have it, while the primary waits for them (work
   * for the answer that need not wait: POST /config's body).
   */
  replace(
    snapshot: ConfigSnapshot,
    origin: ConfigOrigin,
    version = Math.max(Date.now(), this.version + 1),
    whileWorkersLoad?: () => void,
  ): Promise<{ applied: boolean; config_version: number; config_hash: string }> {
    const run = async () => {
      // Newest wins (fleet.ts): a higher version, or the same version with a higher config_hash.
      if (version < this.version || (version === this.version && configHash(snapshot) <= this.hash)) return { applied: false, config_version: this.version, config_hash: this.hash };
      const snap = { ...snapshot, config_version: version };
      this.pending = snap;
      const t0 = performance.now();
      this.proxy?.loadSnapshot(snap);
      // The primary's own work while the workers build theirs (each process on its own core).
      const hash = configHash(snap);
      const store = new EntityStore();
      store.load(snap);
      whileWorkersLoad?.();
      await this.proxy?.settled(SETTLE_MS);
      const workersMs = Math.round(performance.now() - t0);
      this.pending = null;
      this.snap = snap;
      this.hash = hash;
      this.version = version;
      this.origin = origin;
      this.store = store;
      this.o.log.info({ config_version: version, config_hash: this.hash, source: origin.source, workers_ms: workersMs }, 'DB-less configuration replaced');
      // Written after the answer is sent: encoding 10,000 routes takes the primary ~100 ms of CPU
      // that POST /config's 201 need not wait for (the answer goes out in this turn's microtasks).
      this.persisting = new Promise<void>((resolve) => setImmediate(resolve)).then(() => this.persist());
      this.onReplaced?.({ config_version: version, config_hash: this.hash });
      return { applied: true, config_version: version, config_hash: this.hash };
    };
    const p = this.applying.then(run, run);
    this.applying = p.catch(() => {});
    return p;
  }

  /** The running configuration, encoded once per version. */
  packed(): { version: number; hash: string; origin: ConfigOrigin; bytes: Promise<Uint8Array> } {
    if (this.packedCache?.version !== this.version) this.packedCache = { version: this.version, bytes: encodeSnapshot(this.snap) };
    return { version: this.version, hash: this.hash, origin: this.origin, bytes: this.packedCache.bytes };
  }

  /** Never rejects: a configuration that could not be kept on disk is still served (and logged). */
  private async persist(): Promise<void> {
    const snap = this.snap;
    try {
      const bytes = await this.packed().bytes;
      if (snap !== this.snap) return; // replaced meanwhile: the newer one is written by its own persist
      await this.disk.write(bytes, { config_version: this.version, config_hash: this.hash, source: JSON.stringify(this.origin) });
    } catch (err) {
      this.o.log.error({ err: (err as Error).message, config_version: this.version }, 'DB-less: the configuration could not be written to dbless-cache; a restart without declarative_config will not serve it');
    }
  }

  snapshot(): ConfigSnapshot {
    return this.snap;
  }

  /** What a proxy worker starting now is given: the configuration being swapped in, if any. */
  proxySnapshot(): ConfigSnapshot {
    return this.pending ?? this.snap;
  }

  textHash(): string | null {
    return this.origin.textHash;
  }

  async start(): Promise<void> {}

  async stop(): Promise<void> {
    await this.applying;
    await this.persisting;
    await this.disk.close();
  }

  configVersion(): number {
    return this.version;
  }

  configHash(): string {
    return this.hash;
  }

  status(): { configuration_hash: string; config_version: number } {
    return { configuration_hash: this.hash, config_version: this.version };
  }

  /** Kong's DB-less readiness (kong/status/ready.lua): not ready while the configuration is empty. */
  notReady(): string | null {
    const empty = Object.values(this.snap).every((v) => !Array.isArray(v) || v.length === 0);
    return empty ? 'no configuration available (empty configuration present)' : null;
  }

  /** `gossamer reload`: the declarative_config file read again (a file with problems changes nothing). */
  async reload(): Promise<ReloadResult> {
    const from = 'declarative_config';
    try {
      const next = await this.o.reload?.();
      if (next) await this.replace(next.snapshot, next.origin, Math.max(next.version, this.version + 1));
      return { ok: true, config_version: this.version, config_hash: this.hash, from };
    } catch (err) {
      this.o.log.error({ err: (err as Error).message }, 'reload: declarative_config has problems; keeping the running configuration');
      return { ok: false, config_version: this.version, config_hash: this.hash, from };
    }
  }
}
