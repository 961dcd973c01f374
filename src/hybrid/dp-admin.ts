// A data plane's Admin API: read-only. Every write answers 400 (its configuration belongs to
// the control plane); reads of entities are answered from the synced configuration, with
// Kong's shapes (`{data, next}` pages ordered by id, 404 `{"message":"Not found"}`).
import type pg from 'pg';
import { createAdminServer } from '../admin/server.ts';
import type { AdminRequest, AdminResponse, Router } from '../admin/router.ts';
import type { EntityStore } from '../cache/entity-store.ts';
import type { EntityName } from '../entities/types.ts';
import { decodeOffset, encodeOffset, MAX_PAGE_SIZE, DEFAULT_PAGE_SIZE } from '../db/read.ts';
import { isUuid } from '../entities/fields.ts';
import { credentialSegments } from '../admin/credentials.ts';

export const READ_ONLY_MESSAGE =
  'this node is a data plane: its configuration comes from the control plane and its Admin API is read-only; make this change through a control plane\'s Admin API';

/**
 * URL segment → entity, and the field a child entity names its parent by; `nestedKey` names a
 * child only under its parent (a group is unique per consumer).
 */
export const SEGMENTS: Record<string, { entity: EntityName; key?: string; nestedKey?: string; parentField: string }> = {
  services: { entity: 'services', key: 'name', parentField: 'service' },
  routes: { entity: 'routes', key: 'name', parentField: 'route' },
  consumers: { entity: 'consumers', key: 'username', parentField: 'consumer' },
  plugins: { entity: 'plugins', parentField: 'plugin' },
  upstreams: { entity: 'upstreams', key: 'name', parentField: 'upstream' },
  targets: { entity: 'targets', key: 'target', parentField: 'target' },
  // A certificate is named by its id or one of its SNIs (certificateBySni below).
  certificates: { entity: 'certificates', parentField: 'certificate' },
  snis: { entity: 'snis', key: 'name', parentField: 'sni' },
  ca_certificates: { entity: 'ca_certificates', parentField: 'ca_certificate' },
  ...credentialSegments(),
  service: { entity: 'services', parentField: 'service' },
  consumer: { entity: 'consumers', parentField: 'consumer' },
};

const notFound: AdminResponse = { status: 404, body: { message: 'Not found' } };

type Row = { id: string } & Record<string, unknown>;

export function find(store: EntityStore, seg: string, ref: string): Row | undefined {
  const s = SEGMENTS[seg];
  if (!s) return undefined;
  const table = store.tables[s.entity] as unknown as Map<string, Row>;
  if (isUuid(ref)) return table.get(ref.toLowerCase());
  if (s.entity === 'certificates') return certificateBySni(store, ref);
  if (!s.key) return undefined;
  for (const row of table.values()) if (row[s.key] === ref) return row;
  return undefined;
}

/** Kong's /certificates/{SNI name}: the certificate the SNI names. */
function certificateBySni(store: EntityStore, name: string): Row | undefined {
  for (const sni of store.tables.snis.values()) if (sni.name === name) return store.tables.certificates.get(sni.certificate.id) as unknown as Row | undefined;
  return undefined;
}

/** A certificate as the Admin API answers it: with the sorted names of its SNIs. */
function withSnis(store: EntityStore, row: Row): Row {
  const snis = [...store.tables.snis.values()].filter((s) => s.certificate.id === row.id).map((s) => s.name);
  return { ...row, snis: snis.sort() };
}

function refId(row: Row, field: string): string | undefined {
  return (row[field] as { id?: string } | null | undefined)?.id;
}

function page(rows: Row[], q: URLSearchParams): AdminResponse {
  const size = q.has('size') ? Number(q.get('size')) : DEFAULT_PAGE_SIZE;
  if (!Number.isInteger(size) || size < 1 || size > MAX_PAGE_SIZE) {
    return { status: 400, body: { code: 9, name: 'invalid size', message: `size must be an integer between 1 and ${MAX_PAGE_SIZE}` } };
  }
  rows.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  let start = 0;
  const offset = q.get('offset');
  if (offset) {
    const after = decodeOffset(offset);
    start = rows.findIndex((r) => r.id > after);
    if (start < 0) start = rows.length;
  }
  const data = rows.slice(start, start + size);
  const more = start + size < rows.length;
  return { status: 200, body: { data, next: null, offset: more ? encodeOffset(data[data.length - 1]!.id) : undefined } };
}

/** Answer one GET pattern from the cache, or null when the pattern is not an entity read. */
function read(store: EntityStore, pattern: string, req: AdminRequest): AdminResponse | null {
  const segs = pattern.split('/').filter(Boolean);
  const values = segs.map((s) => (s.startsWith(':') ? req.params[s.slice(1)]! : s));
  const lit = segs.map((s) => !s.startsWith(':'));
  const rowsOf = (seg: string) => [...(store.tables[SEGMENTS[seg]!.entity] as unknown as Map<string, Row>).values()];
  const shown = (seg: string, row: Row) => (SEGMENTS[seg]!.entity === 'certificates' ? withSnis(store, row) : row);
  if (segs.length === 1 && SEGMENTS[segs[0]!]) return page(rowsOf(segs[0]!).map((r) => shown(segs[0]!, r)), req.query);
  if (segs.length === 2 && lit[0] && !lit[1] && SEGMENTS[segs[0]!]) {
    const row = find(store, segs[0]!, values[1]!);
    return row ? { status: 200, body: shown(segs[0]!, row) } : notFound;
  }
  if (segs.length >= 3 && lit[0] && !lit[1] && lit[2] && SEGMENTS[segs[0]!] && SEGMENTS[segs[2]!]) {
    const parent = find(store, segs[0]!, values[1]!);
    if (!parent) return notFound;
    const childSeg = segs[2]!;
    const field = SEGMENTS[segs[0]!]!.parentField;
    if (segs.length === 3) {
      // /routes/{id}/service, /<credentials>/{id}/consumer: the parent's foreign entity
      if (childSeg === 'service' || childSeg === 'consumer') {
        const id = refId(parent, childSeg);
        const row = id ? find(store, childSeg, id) : undefined;
        return row ? { status: 200, body: row } : notFound;
      }
      return page(rowsOf(childSeg).filter((r) => refId(r, field) === parent.id), req.query);
    }
    if (segs.length === 4) {
      const ref = values[3]!;
      const nestedKey = SEGMENTS[childSeg]!.nestedKey;
      const row = nestedKey && !isUuid(ref) ? rowsOf(childSeg).find((r) => refId(r, field) === parent.id && r[nestedKey] === ref) : find(store, childSeg, ref);
      return row && refId(row, field) === parent.id ? { status: 200, body: row } : notFound;
    }
  }
  return null;
}

/** How a write is answered: a data plane's 400, or a DB-less node's 405 (src/admin/dbless-writes.ts). */
export type RefuseWrite = (method: string, pattern: string, req: AdminRequest) => AdminResponse;

export function registerDataPlaneAdmin(router: Router, store: () => EntityStore, refuseWrite?: RefuseWrite): void {
  // The traditional node's patterns, taken from the real Admin API so none is forgotten. Its
  // handlers are never called: this server is never listened on and holds no pool.
  const reference = createAdminServer({
    pool: {} as pg.Pool,
    nodeInfo: { id: '', name: '', hostname: '', version: '', role: 'data_plane' },
    configSummary: {},
  }).router;
  const refuse: AdminResponse = { status: 400, body: { message: READ_ONLY_MESSAGE } };
  const taken = new Set(router.list().map((r) => `${r.method} ${r.pattern}`));
  for (const { method, pattern } of reference.list()) {
    if (taken.has(`${method} ${pattern}`)) continue;
    if (method !== 'GET') {
      router.add(method, pattern, refuseWrite ? (req) => refuseWrite(method, pattern, req) : () => refuse);
      continue;
    }
    router.add(method, pattern, (req) => read(store(), pattern, req) ?? { status: 400, body: { message: `${pattern} is not available on a data plane` } });
  }
}
