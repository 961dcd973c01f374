// Kong's certificates DAO (kong/db/dao/certificates.lua, snis.lua): a certificate's `snis`
// shorthand creates, keeps or deletes the SNI entities naming it. As in Kong, the certificate
// and each SNI are written one after the other, each with its cluster_events row, after the
// list was checked (no duplicates, no name owned by another certificate).
import type pg from 'pg';
import type { ChangeEvent } from '../entities/types.ts';
import { schemaViolation } from '../entities/errors.ts';
import { deleteEntity, insertEntity, updateEntity, upsertEntity, type WriteOptions, type WriteResult } from './write.ts';

/**
 * Kong's parse_name_list: an array → sorted copy (a duplicate is a schema violation), null →
 * [] (remove every SNI), anything else (absent) → null (leave the SNIs as they are).
 */
export function parseNameList(input: unknown): string[] | null {
  if (input === null) return [];
  if (!Array.isArray(input)) return null;
  const seen = new Set<string>();
  for (const name of input) {
    if (seen.has(name as string)) throw schemaViolation({ snis: `${String(name)} is duplicated` });
    seen.add(name as string);
  }
  return [...(input as string[])].sort();
}

/** Kong's check_list_is_new: every name is free or already this certificate's. */
async function checkListIsNew(pool: pg.Pool, names: string[], certId?: string): Promise<void> {
  if (names.length === 0) return;
  const { rows } = await pool.query<{ name: string; certificate_id: string }>('SELECT name, certificate_id FROM snis WHERE name = ANY($1::text[])', [names]);
  const owner = new Map(rows.map((r) => [r.name, r.certificate_id]));
  for (const name of names) {
    const id = owner.get(name);
    if (id && id !== certId) throw schemaViolation({ snis: `${name} already associated with existing certificate '${id}'` });
  }
}

/** The SNI names of each certificate, sorted (Kong's list_for_certificate). */
export async function sniNamesOf(pool: pg.Pool, certIds: string[]): Promise<Map<string, string[]>> {
  const out = new Map<string, string[]>(certIds.map((id) => [id, []]));
  if (certIds.length === 0) return out;
  const { rows } = await pool.query<{ name: string; certificate_id: string }>('SELECT name, certificate_id FROM snis WHERE certificate_id = ANY($1::uuid[])', [certIds]);
  for (const r of rows) out.get(r.certificate_id)?.push(r.name);
  for (const list of out.values()) list.sort();
  return out;
}

/** Kong's update_list: add the new names, delete the ones no longer listed. */
async function replaceList(pool: pg.Pool, certId: string, names: string[], opts: WriteOptions, events: ChangeEvent[]): Promise<void> {
  const current = (await sniNamesOf(pool, [certId])).get(certId) ?? [];
  for (const name of names.filter((n) => !current.includes(n))) {
    events.push(...(await insertEntity(pool, 'snis', { name, certificate: { id: certId } }, opts)).events);
  }
  for (const name of current.filter((n) => !names.includes(n))) {
    events.push(...(await deleteEntity(pool, 'snis', { field: 'name', value: name }, opts)).events);
  }
}

export type CertWrite = { kind: 'insert' } | { kind: 'upsert'; id: string } | { kind: 'update'; id: string };

/**
 * Write a certificate and its SNIs. The result's entity carries `snis`; its events are every
 * committed change, also when a later SNI write failed (`failure` then holds the error).
 */
export async function writeCertificate(
  pool: pg.Pool,
  how: CertWrite,
  body: Record<string, unknown>,
  opts: WriteOptions,
): Promise<WriteResult & { failure?: unknown }> {
  const names = parseNameList(how.kind === 'upsert' && body.snis === undefined ? null : body.snis);
  await checkListIsNew(pool, names ?? [], how.kind === 'insert' ? undefined : how.id);
  const written =
    how.kind === 'insert'
      ? await insertEntity(pool, 'certificates', body, opts)
      : how.kind === 'upsert'
        ? await upsertEntity(pool, 'certificates', { id: how.id }, body, opts)
        : await updateEntity(pool, 'certificates', { id: how.id }, body, opts);
  if (!written.entity) return written;
  const id = written.entity.id as string;
  const events = [...written.events];
  try {
    if (names) await replaceList(pool, id, names, opts, events);
  } catch (failure) {
    return { entity: null, events, failure };
  }
  const snis = names ?? (await sniNamesOf(pool, [id])).get(id) ?? [];
  return { entity: { ...written.entity, snis }, events, created: written.created };
}
