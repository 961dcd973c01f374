// config_hash: a fingerprint of the configuration a node serves, announced with its
// config_version so an operator (and the node itself) can see an inconsistent member.
// It must be independent of the order entities were inserted or events applied, so each
// entity row is digested on its own (stable JSON: sorted keys) and the row digests of a
// table are summed mod 2^256 — an order-free combination that also supports removing a
// row, which lets the cache keep the hash current per event instead of re-hashing all.
import crypto, { createHash } from 'node:crypto';
import type { ConfigSnapshot, EntityName } from '../entities/types.ts';
import { ENTITY_NAMES } from './entity-store.ts';

const MOD = 1n << 256n;

/** `"key":` for the keys seen so far (entity rows share a few dozen names). */
const quotedKeys = new Map<string, string>();
const QUOTED_KEYS_MAX = 4096;

function quotedKey(k: string): string {
  let q = quotedKeys.get(k);
  if (q === undefined) {
    q = `${JSON.stringify(k)}:`;
    if (quotedKeys.size < QUOTED_KEYS_MAX) quotedKeys.set(k, q);
  }
  return q;
}

/** The keys in sort() order; most objects' keys already are, and are then not sorted again. */
function sortedKeys(obj: object): string[] {
  const keys = Object.keys(obj);
  for (let i = 1; i < keys.length; i++) if (keys[i - 1]! > keys[i]!) return keys.sort();
  return keys;
}

/** JSON with object keys sorted at every level; undefined members are dropped like JSON.stringify does. */
export function stableStringify(value: unknown): string {
  if (value === null || typeof value !== 'object') {
    const s = JSON.stringify(value);
    return s === undefined ? 'null' : s;
  }
  if (Array.isArray(value)) return `[${value.map((v) => (v === undefined ? 'null' : stableStringify(v))).join(',')}]`;
  const obj = value as Record<string, unknown>;
  const parts: string[] = [];
  for (const k of sortedKeys(obj)) {
    const v = obj[k];
    if (v === undefined || typeof v === 'function') continue;
    parts.push(quotedKey(k) + stableStringify(v));
  }
  return `{${parts.join(',')}}`;
}

/** crypto.hash (Node >= 20.12): one call instead of a Hash object per row. */
const oneShot = (crypto as { hash?: (algorithm: string, data: string, encoding: 'hex') => string }).hash;

function rowDigest(entity: EntityName, row: unknown): bigint {
  const text = `${entity}\0${stableStringify(row)}`;
  const h = oneShot ? oneShot('sha256', text, 'hex') : createHash('sha256').update(text).digest('hex');
  return BigInt(`0x${h}`);
}

/** Incrementally maintained config_hash over the entity tables of one store. */
export class ConfigHasher {
  private sums = new Map<EntityName, bigint>();
  private cached: string | null = null;

  reset(snapshot?: Pick<ConfigSnapshot, EntityName>): void {
    this.sums.clear();
    this.cached = null;
    if (!snapshot) return;
    for (const name of ENTITY_NAMES) for (const row of snapshot[name] ?? []) this.add(name, row);
  }

  add(entity: EntityName, row: unknown): void {
    if (row == null) return;
    this.sums.set(entity, ((this.sums.get(entity) ?? 0n) + rowDigest(entity, row)) % MOD);
    this.cached = null;
  }

  remove(entity: EntityName, row: unknown): void {
    if (row == null) return;
    this.sums.set(entity, ((this.sums.get(entity) ?? 0n) - rowDigest(entity, row) + MOD) % MOD);
    this.cached = null;
  }

  /** 32 hex characters, like Kong's config hash. */
  value(): string {
    if (this.cached) return this.cached;
    const h = createHash('sha256');
    for (const name of ENTITY_NAMES) h.update(`${name}:${(this.sums.get(name) ?? 0n).toString(16)};`);
    this.cached = h.digest('hex').slice(0, 32);
    return this.cached;
  }
}

/** config_hash of a snapshot built from scratch (a fresh node, a check after a benchmark). */
export function configHash(snapshot: Pick<ConfigSnapshot, EntityName>): string {
  const h = new ConfigHasher();
  h.reset(snapshot);
  return h.value();
}
