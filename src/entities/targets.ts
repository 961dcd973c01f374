// Kong 3 targets: `host[:port]` (default port 8000), weight 0..65535, unique per upstream.
import { z } from 'zod';
import type { EntityDef } from './definition.ts';
import { between, foreign, isHostname, num, str, tags, uuid, withDefault } from './fields.ts';

/** Normalise `host[:port]` the way Kong stores it; null when it is not a host or IP. */
export function normaliseTarget(t: string): string | null {
  const v6 = /^\[([0-9A-Fa-f:.]+)\](?::(\d{1,5}))?$/.exec(t);
  if (v6) return `[${v6[1]}]:${v6[2] ?? 8000}`;
  if (/^[0-9A-Fa-f:]+$/.test(t) && t.split(':').length > 2) return `[${t}]:8000`;
  const m = /^([^:]+)(?::(\d{1,5}))?$/.exec(t);
  if (!m || !isHostname(m[1]!)) return null;
  const port = m[2] ? Number(m[2]) : 8000;
  if (port > 65535) return null;
  return `${m[1]}:${port}`;
}

export const targetSchema = z.strictObject({
  id: uuid().optional(),
  // Kong's auto_timestamp_ms: seconds with a fractional part.
  created_at: num().min(0, 'expected a valid timestamp').optional(),
  updated_at: num().min(0, 'expected a valid timestamp').optional(),
  upstream: foreign(),
  target: str()
    .max(1024, 'length must be at most 1024')
    // The DAO's message (kong/db/dao/targets.lua), which every Admin API write meets first.
    .refine((t) => normaliseTarget(t) !== null, { message: 'Invalid target; not a valid hostname or ip address' })
    .transform((t) => normaliseTarget(t)!),
  weight: withDefault(between(0, 65535), () => 100),
  tags: tags(),
});

export const targets: EntityDef = {
  name: 'targets',
  endpointKey: 'target',
  schema: targetSchema as unknown as EntityDef['schema'],
  columns: { id: 'uuid', created_at: 'ts_ms', updated_at: 'ts_ms', upstream: 'fk', target: 'text', weight: 'int', tags: 'text[]' },
  foreign: { upstream: 'upstreams' },
  uniques: { targets_upstream_target_unique: ['upstream', 'target'] },
  cascade: [],
  restrict: [],
  cacheKeys: (e) => [`upstreams:${(e.upstream as { id: string }).id}`],
};
