// GET /tags and GET /tags/{tag}: every tagged entity, Kong's `{entity_name, entity_id, tag}`
// rows, paged by an opaque keyset offset like the entity collections.
import type pg from 'pg';
import type { Router } from './router.ts';
import { ENTITY_ORDER } from '../entities/index.ts';
import { badRequest, invalidOffset, invalidSize } from '../entities/errors.ts';
import { DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE } from '../db/read.ts';

const UNION = ENTITY_ORDER.map((t) => `SELECT '${t}'::text AS entity_name, id::text AS entity_id, unnest(tags) AS tag FROM ${t}`).join(' UNION ALL ');

function decode(token: string): [string, string, string] {
  try {
    const v = JSON.parse(Buffer.from(token, 'base64').toString('utf8'));
    if (Array.isArray(v) && v.length === 3 && v.every((x) => typeof x === 'string')) return v as [string, string, string];
  } catch {
    // fall through
  }
  throw invalidOffset(token, 'bad encoding');
}

export function registerTags(router: Router, pool: pg.Pool): void {
  const page = async (tag: string | null, size: number, offset: string | null) => {
    const params: unknown[] = [];
    const where: string[] = [];
    if (tag !== null) {
      params.push(tag);
      where.push(`tag = $${params.length}`);
    }
    if (offset !== null) {
      params.push(...decode(offset));
      where.push(`(tag, entity_name, entity_id) > ($${params.length - 2}, $${params.length - 1}, $${params.length})`);
    }
    params.push(size + 1);
    const { rows } = await pool.query(
      `SELECT entity_name, entity_id, tag FROM (${UNION}) t ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY tag, entity_name, entity_id LIMIT $${params.length}`,
      params,
    );
    const data = rows.slice(0, size);
    const last = data[data.length - 1];
    const next = rows.length > size && last ? Buffer.from(JSON.stringify([last.tag, last.entity_name, last.entity_id])).toString('base64') : null;
    return { data, next };
  };
  const sizeOf = (raw: string | null) => {
    if (raw === null) return DEFAULT_PAGE_SIZE;
    const n = Number(raw);
    if (!Number.isInteger(n) || n < 1 || n > MAX_PAGE_SIZE) throw invalidSize(`size must be an integer between 1 and ${MAX_PAGE_SIZE}`);
    return n;
  };
  const respond = async (base: string, tag: string | null, q: URLSearchParams) => {
    const { data, next } = await page(tag, sizeOf(q.get('size')), q.get('offset'));
    const body: Record<string, unknown> = { data, next: next ? `${base}?offset=${encodeURIComponent(next)}` : null };
    if (next) body.offset = next;
    return { status: 200, body };
  };
  router.add('GET', '/tags', (req) => respond('/tags', null, req.query));
  router.add('GET', '/tags/:tag', (req) => {
    if (req.params.tag!.includes('\uFFFD')) throw badRequest('invalid value: invalid utf-8 in tag');
    return respond(`/tags/${encodeURIComponent(req.params.tag!)}`, req.params.tag!, req.query);
  });
}
