// The control plane's encoded configuration: built once per (config_version, config_hash) and
// the same bytes sent to every data plane that asks, however many ask at once.
import type { ConfigSnapshot } from '../../entities/types.ts';
import { encodeSnapshot, SNAPSHOT_ENCODING } from '../codec.ts';
import { encodeResponse } from './protocol.ts';

export interface SnapshotSource {
  configVersion(): number;
  configHash(): string;
  /** The whole configuration, consistent with configVersion()/configHash() at the same instant. */
  snapshot(): ConfigSnapshot;
}

export interface BuiltSnapshot {
  config_version: number;
  config_hash: string;
  /** The whole sync response (msgpack envelope around the compressed snapshot). */
  response: Uint8Array;
  /** Compressed snapshot size. */
  size: number;
  buildMs: number;
}

export class SnapshotCache {
  private current: { key: string; built: Promise<BuiltSnapshot> } | null = null;
  /** How many times a snapshot was encoded (tests: once per version, not once per data plane). */
  builds = 0;

  constructor(private readonly source: SnapshotSource) {}

  get(): Promise<BuiltSnapshot> {
    const config_version = this.source.configVersion();
    const config_hash = this.source.configHash();
    const key = `${config_version}:${config_hash}`;
    if (this.current?.key === key) return this.current.built;
    // Taken synchronously with the version and hash above: the three describe one instant.
    const snap = { ...this.source.snapshot(), config_version };
    this.builds++;
    const t0 = performance.now();
    const built = encodeSnapshot(snap).then((data) => ({
      config_version,
      config_hash,
      response: encodeResponse({ t: 'snapshot', config_version, config_hash, encoding: SNAPSHOT_ENCODING, data }),
      size: data.length,
      buildMs: Math.round(performance.now() - t0),
    }));
    const entry = { key, built };
    this.current = entry;
    built.catch(() => {
      if (this.current === entry) this.current = null;
    });
    return built;
  }
}
