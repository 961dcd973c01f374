// The real declarative files of test/declarative/fixtures/ (README.md there says where each
// comes from), without a database: each is a valid configuration, built the same on every
// read, and what GET /config exports from it reads back as the same configuration.
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, test } from 'vitest';
import { parse } from 'yaml';
import { snapshotFromText } from '../../src/declarative/build.ts';
import { exportDeclarative } from '../../src/declarative/export.ts';
import { configHash } from '../../src/cache/config-hash.ts';

/** Every list in id order: an export lists entities by id, a file in its own order. */
const byId = (s: object) =>
  Object.fromEntries(Object.entries(s).map(([k, v]) => [k, Array.isArray(v) ? [...v].sort((a, b) => String(a.id).localeCompare(String(b.id))) : v]));

const DIR = path.join(import.meta.dirname, 'fixtures');
export const FIXTURES = fs.readdirSync(DIR).filter((f) => /\.ya?ml$|\.json$/.test(f));

describe.each(FIXTURES)('%s', (name) => {
  const text = fs.readFileSync(path.join(DIR, name), 'utf8');

  test('is a valid configuration, with every entity the file declares', () => {
    const doc = parse(text) as Record<string, unknown[]>;
    const s = snapshotFromText(text);
    for (const kind of ['services', 'consumers', 'upstreams'] as const) expect(s[kind]).toHaveLength(doc[kind]?.length ?? 0);
    const nestedRoutes = ((doc.services ?? []) as { routes?: unknown[] }[]).reduce((n, svc) => n + (svc.routes?.length ?? 0), 0);
    expect(s.routes).toHaveLength(nestedRoutes + (doc.routes?.length ?? 0));
  });

  test('is built with the same ids and config_hash every time (every DB-less node agrees)', () => {
    // Timestamps the file does not give are the time of the build: the same one here.
    expect(configHash(snapshotFromText(text, 0, 1_700_000_000))).toBe(configHash(snapshotFromText(text, 0, 1_700_000_000)));
  });

  test("round-trips through GET /config's export", () => {
    const s = snapshotFromText(text);
    const again = snapshotFromText(exportDeclarative(s, { full: true }));
    expect(byId(again)).toEqual(byId(s));
    expect(configHash(again)).toBe(configHash(s));
  });
});

test('the Supabase file: acls name consumers by username, format 2.1 read as 3.0', () => {
  const s = snapshotFromText(fs.readFileSync(path.join(DIR, 'supabase-self-hosting-kong.yml'), 'utf8'));
  const anon = s.consumers.find((c) => c.username === 'anon')!;
  const acls = (s as unknown as { acls: { consumer: { id: string }; group: string }[] }).acls;
  expect(acls.find((a) => a.group === 'anon')!.consumer.id).toBe(anon.id);
  expect(s.routes.find((r) => r.name === 'rest-v1-all')!.paths).toEqual(['/rest/v1/']);
});
