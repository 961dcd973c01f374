// The proxy-cache's answers in each proxy worker, where its memory stores live: the Admin API
// (api.ts, in the node's primary) asks every worker and merges what they say.
import { allStores, storeFor, type CachedResponse } from './memory-store.ts';

export type CacheQuestion =
  | { op: 'flush' }
  | { op: 'get'; key: string; dictionary?: string }
  | { op: 'purge'; key: string; dictionary?: string }
  /** Another worker of the node stored this answer (the body arrives as a Uint8Array over IPC). */
  | { op: 'store'; key: string; dictionary: string; entry: CachedResponse; ttl: number };

/** A cached response as Kong's Admin API shows it (headers as a table, the body as text). */
export interface CacheEntryView {
  status: number;
  headers: Record<string, string | string[]>;
  body: string;
  body_len: number;
  timestamp: number;
  ttl: number;
  version: number;
  req_body: string | null;
}

function view(e: CachedResponse): CacheEntryView {
  const headers: Record<string, string | string[]> = {};
  for (let i = 0; i < e.headers.length; i += 2) {
    const k = e.headers[i]!;
    const prev = headers[k];
    headers[k] = prev === undefined ? e.headers[i + 1]! : [...(Array.isArray(prev) ? prev : [prev]), e.headers[i + 1]!];
  }
  return { status: e.status, headers, body: e.body.toString('latin1'), body_len: e.body_len, timestamp: e.timestamp, ttl: e.ttl, version: e.version, req_body: e.req_body };
}

const storesOf = (dictionary?: string) => (dictionary ? [storeFor(dictionary)] : allStores());

export default function answer(msg: unknown): CacheEntryView | boolean | null {
  const q = msg as CacheQuestion;
  switch (q.op) {
    case 'flush':
      for (const s of allStores()) s.flush();
      return true;
    case 'get':
      for (const s of storesOf(q.dictionary)) {
        const e = s.get(q.key);
        if (e) return view(e);
      }
      return null;
    case 'purge':
      return storesOf(q.dictionary).map((s) => s.delete(q.key)).some(Boolean);
    case 'store':
      return storeFor(q.dictionary).offer(q.key, { ...q.entry, body: Buffer.from(q.entry.body) }, q.ttl) === 'stored';
    default:
      return null;
  }
}
