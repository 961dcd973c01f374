// config_hash: a fingerprint of the configuration a node serves, announced with its
// config_version so an operator (and the node itself) can see an inconsistent member.
// It must be independent of the order entities were inserted or events applied, so each
// entity row is digested on its own (stable JSON: sorted keys) and the row digests of a
// table are summed mod 2^256 — an order-free combination that also supports removing a
// row, which lets the cache keep the hash current per event instead of re-hashing all.
import { createHash } from 'node:crypto';
import type { ConfigSnapshot, EntityName } from '../entities/types.ts';
import { ENTITY_NAMES } from './entity-store.ts';

const MOD = 1n << 256n;

/** JSON with object keys sorted at every level; undefined members are dropped like JSON.stringify does. */
export function stableStringify(value: unknown): string {
  if (value === null || typeof value !== 'object') {
    const s = JSON.stringify(value);
    return s === undefined ? 'null' : s;
  }
  if (Array.isArray(value)) return `[${value.map((v) => (v === undefined ? 'null' : stableStringify(v))).join(',')}]`;
  const obj = value as Record<string, unknown>;
  const parts: string[] = [];
  for (const k of Object.keys(obj).sort()) {
    const v = obj[k];
    if (v === undefined || typeof v === 'function') continue;
    parts.push(`${JSON.stringify(k)}:${stableStringify(v)}`);
  }
  return `{${parts.join(',')}}`;
}

function rowDigest(entity: EntityName, row: unknown): bigint {
  const h = createHash('sha256').update(entity).update('\0').update(stableStringify(row)).digest('hex');
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
