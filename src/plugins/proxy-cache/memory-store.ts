// The memory strategy: Kong keeps entries in an nginx shared dictionary (`kong_db_cache`,
// sized by mem_cache_size, 128m by default) that evicts the least recently used entry when
// full. Here each proxy process has one store per dictionary name, bounded by the same size
// in bytes and evicting least recently used entries first.
export interface CachedResponse {
  status: number;
  /** Flat [name, value...] as the upstream sent them, hop-by-hop headers left out. */
  headers: string[];
  body: Buffer;
  body_len: number;
  /** Seconds since the epoch when stored (Kong's ngx.time()). */
  timestamp: number;
  /** Seconds the entry is fresh (cache_ttl or Cache-Control). */
  ttl: number;
  version: number;
  req_body: string | null;
}

/**
 * Whether `a` should replace `b` under the same key when the node's workers exchange copies: the
 * later one, and between two of the same second (timestamps are whole seconds) the greater body.
 * Two workers that missed one key together each store their own answer and send it to the other;
 * the copies cross, and with this rule both keep the same one instead of each other's.
 */
export function supersedes(a: CachedResponse, b: CachedResponse): boolean {
  return a.timestamp !== b.timestamp ? a.timestamp > b.timestamp : Buffer.compare(a.body, b.body) > 0;
}

/** Kong's dictionaries a proxy-cache may name, with their default sizes (Kong's mem_cache_size: 128m). */
export const DICTIONARIES = new Map<string, number>([
  ['kong', 5 * 1024 * 1024],
  ['kong_db_cache', 128 * 1024 * 1024],
  ['kong_core_db_cache', 128 * 1024 * 1024],
  ['kong_cache', 128 * 1024 * 1024],
]);

interface Slot {
  value: CachedResponse;
  /** ms epoch after which the entry is gone (storage ttl). */
  expiresAt: number;
  bytes: number;
}

const sizeOf = (v: CachedResponse) => v.body.length + v.headers.reduce((n, h) => n + h.length, 0) + 200;

export class MemoryStore {
  private slots = new Map<string, Slot>();
  private bytes = 0;

  constructor(readonly capacity: number) {}

  get used(): number {
    return this.bytes;
  }

  get(key: string, now = Date.now()): CachedResponse | undefined {
    const slot = this.slots.get(key);
    if (!slot) return undefined;
    this.slots.delete(key);
    if (slot.expiresAt <= now) {
      this.bytes -= slot.bytes;
      return undefined;
    }
    this.slots.set(key, slot); // most recently used last
    return slot.value;
  }

  set(key: string, value: CachedResponse, ttlSeconds: number, now = Date.now()): boolean {
    const bytes = sizeOf(value);
    if (bytes > this.capacity) return false;
    this.delete(key);
    while (this.bytes + bytes > this.capacity) {
      const oldest = this.slots.keys().next().value as string;
      this.delete(oldest);
    }
    this.slots.set(key, { value, expiresAt: ttlSeconds > 0 ? now + ttlSeconds * 1000 : Infinity, bytes });
    this.bytes += bytes;
    return true;
  }

  /**
   * `set`, unless the live entry under `key` supersedes `value` (another worker's answer to the
   * same miss, stored or copied here first). `replacing`: the stale entry a refresh replaces,
   * which never wins. Does not count as a use of the entry it keeps.
   */
  offer(key: string, value: CachedResponse, ttlSeconds: number, replacing?: CachedResponse, now = Date.now()): 'stored' | 'superseded' | 'too large' {
    const cur = this.slots.get(key);
    if (cur && cur.expiresAt > now && cur.value !== replacing && supersedes(cur.value, value)) return 'superseded';
    return this.set(key, value, ttlSeconds, now) ? 'stored' : 'too large';
  }

  delete(key: string): boolean {
    const slot = this.slots.get(key);
    if (!slot) return false;
    this.slots.delete(key);
    this.bytes -= slot.bytes;
    return true;
  }

  flush(): void {
    this.slots.clear();
    this.bytes = 0;
  }
}

const stores = new Map<string, MemoryStore>();

/** This process's store for a dictionary (one per name, shared by every proxy-cache instance). */
export function storeFor(dictionary: string): MemoryStore {
  let s = stores.get(dictionary);
  if (!s) stores.set(dictionary, (s = new MemoryStore(DICTIONARIES.get(dictionary) ?? 128 * 1024 * 1024)));
  return s;
}

/** Every store of this process (a purge of all caches). */
export function allStores(): MemoryStore[] {
  return [...stores.values()];
}
