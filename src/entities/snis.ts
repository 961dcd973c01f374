// Kong 3 SNIs (kong/db/schema/entities/snis.lua): a server name, exact or wildcard, unique
// across the cluster, naming the certificate presented for it.
import { z } from 'zod';
import type { EntityDef } from './definition.ts';
import { foreign, tags, timestamp, uuid } from './fields.ts';
import { wildcardHost } from './wildcard-host.ts';

export const sniSchema = z.strictObject({
  id: uuid().optional(),
  created_at: timestamp().optional(),
  updated_at: timestamp().optional(),
  name: wildcardHost(),
  tags: tags(),
  certificate: foreign(),
});

export const snis: EntityDef = {
  name: 'snis',
  endpointKey: 'name',
  schema: sniSchema as unknown as EntityDef['schema'],
  columns: { id: 'uuid', created_at: 'ts', updated_at: 'ts', name: 'text', tags: 'text[]', certificate: 'fk' },
  foreign: { certificate: 'certificates' },
  uniques: { snis_name_unique: ['name'] },
  cascade: [],
  restrict: [],
  naturalKey: (e) => String(e.name ?? ''),
  cacheKeys: (e) => [`snis:${e.name}`],
};
