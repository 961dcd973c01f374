// What a data plane's proxy workers are handed while its on-disk cache is still being read.
// The workers are forked before anything else is loaded or read: a worker takes far longer to
// boot (tsx, the proxy's modules) than the primary needs to load the cache code and read the
// cache, and each side has a core of its own. A worker that says hello before the cache is
// read starts empty and is handed the cache once it is.
import type { ConfigSnapshot } from '../../entities/types.ts';
import { ENTITY_NAMES } from '../../cache/entity-store.ts';
import type { NodeProxy } from '../../proxy/node-proxy.ts';
import type { PackedSnapshot } from '../../proxy/worker-messages.ts';
import type { DataPlaneSync } from '../../sync/push/data-plane-sync.ts';
import type { Journal } from '../../sync/push/level-store.ts';

function emptySnapshot(): ConfigSnapshot {
  const snap = { config_version: 0 } as Record<string, unknown>;
  for (const name of ENTITY_NAMES) snap[name] = [];
  return snap as unknown as ConfigSnapshot;
}

export class CacheHandover {
  /** Set once the sync exists; from then on its cache is the configuration once loaded. */
  sync: DataPlaneSync | null = null;
  /**
   * What the workers were handed before the cache finished loading: nothing yet, an empty
   * configuration (a worker said hello first), or the cached snapshot as soon as it passed its
   * checksum (`verified`), before its config_hash is checked (level-store.ts onVerified). The
   * workers get it packed (the stored bytes): decoding costs them less than the primary's
   * structured clone of every row would cost both.
   */
  private handed: 'none' | 'empty' | 'verified' = 'none';
  private verified: { snapshot: ConfigSnapshot; journal: Journal | null; packed: PackedSnapshot } | null = null;
  /** Process uptime when the workers listened. */
  listeningMs: number | null = null;

  /** The proxy's configuration (its primary's copy). */
  snapshot(): ConfigSnapshot {
    const sync = this.sync;
    return sync?.cache.loaded ? sync.cache.snapshot() : (this.verified?.snapshot ?? emptySnapshot());
  }

  /** What a worker saying hello gets. */
  workerSnapshot(): ConfigSnapshot | PackedSnapshot {
    if (this.sync?.cache.loaded) return this.sync.cache.snapshot();
    if (this.verified) {
      this.handed = 'verified';
      return this.verified.packed;
    }
    this.handed = 'empty';
    return emptySnapshot();
  }

  /** The stored snapshot passed its checksum (DpCacheStore.onVerified). */
  async verifiedSnapshot(snapshot: ConfigSnapshot, journal: Journal | null, bytes: Uint8Array, proxyStart: Promise<NodeProxy> | null): Promise<void> {
    // A view into a larger buffer would send all of that buffer.
    const own = bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength ? bytes : bytes.slice();
    const packed = { packed: own };
    this.verified = { snapshot, journal, packed };
    // Workers saying hello from now on get it with their init. Those that said hello before
    // listen with nothing: it is posted once they listen. Either way the config_hash check
    // (synchronous, after this returns) waits until the workers have it.
    const p = await proxyStart?.catch(() => null);
    if (p && this.handed === 'empty') {
      this.handed = 'verified';
      p.loadSnapshot(snapshot, packed);
    }
  }

  /** The workers listen and the cache is read (`cached`: a verified configuration was loaded). */
  adopt(p: NodeProxy, sync: DataPlaneSync, cached: boolean): void {
    if (this.handed === 'verified') {
      // The workers serve the stored snapshot: add the journal if it checked out, or withdraw
      // the snapshot if its config_hash did not (then the cache is ignored, as before).
      const j = this.verified?.journal;
      if (!cached) p.loadSnapshot(emptySnapshot());
      else if (j && j.events.length > 0 && sync.configHash() === j.config_hash) p.applyChanges(j.events);
    } else if (cached && this.handed === 'empty') p.loadSnapshot(sync.cache.snapshot());
    this.verified = null;
    // When the workers listened, not now: they serve the cached snapshot before the config_hash check above ends.
    sync.servingSinceStartMs = this.listeningMs ?? Math.round(process.uptime() * 1000);
  }
}
