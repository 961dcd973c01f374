// A DB-less node's Admin API writes: Kong's off strategy refuses them with 405 and code 12
// (kong/db/strategies/off/init.lua `unsupported`, answered as-is by kong/api/endpoints.lua),
// after the DAO's own read: a PATCH of a missing entity is 404 and a DELETE of one is 204,
// as Kong's DAO finds nothing to change before it reaches the strategy.
import type { AdminRequest, AdminResponse } from './router.ts';
import type { EntityStore } from '../cache/entity-store.ts';
import { isUuid } from '../entities/fields.ts';
import { SEGMENTS, find } from '../hybrid/dp-admin.ts';

const OPERATION: Record<string, string> = { POST: 'create', PUT: 'create or update', PATCH: 'update', DELETE: 'remove' };

const unsupported = (message: string): AdminResponse => ({ status: 405, body: { code: 12, name: 'operation unsupported', message } });

export function dblessWriteRefusal(store: () => EntityStore) {
  return (method: string, pattern: string, req: AdminRequest): AdminResponse => {
    const segs = pattern.split('/').filter(Boolean);
    const last = segs[segs.length - 1]!;
    const op = OPERATION[method] ?? method.toLowerCase();
    if (!last.startsWith(':')) {
      // A collection (`POST /services`, a consumer's credentials) or a parent's one entity (`PUT /routes/{r}/service`).
      const seg = SEGMENTS[last];
      if (!seg) return { status: 405, body: { message: 'Method not allowed' } };
      return unsupported(`cannot ${op} '${seg.entity}' entities when not using a database`);
    }
    const segName = segs[segs.length - 2]!;
    const seg = SEGMENTS[segName];
    if (!seg) return { status: 405, body: { message: 'Method not allowed' } };
    const ref = req.params[last.slice(1)]!;
    if (method === 'PATCH' || method === 'DELETE') {
      const row = find(store(), segName, ref);
      if (!row) return method === 'DELETE' ? { status: 204 } : { status: 404, body: { message: 'Not found' } };
    }
    const by = !isUuid(ref) && seg.key ? ` by '${seg.key}'` : '';
    return unsupported(`cannot ${op} '${seg.entity}' entities${by} when not using a database`);
  };
}
