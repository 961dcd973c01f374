// Kong/kong spec/02-integration/04-admin_api/14-tags_spec.lua (database strategy), one `it`
// per Kong `it`. Kong's spec tags `file-log` plugins; Gossamer bundles no file-log, so these
// tag `request-transformer` plugins, which a consumer may have too. Kong's client sends UTF-8
// and the 0xFF byte unescaped; node's client refuses that, so these send them %-escaped.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startKongSpecAdmin, type KongSpecAdmin } from './harness.ts';

const SPEC = '14-tags_spec.lua';
let k: KongSpecAdmin;
beforeAll(async () => {
  k = await startKongSpecAdmin('ktags');
});
afterAll(async () => {
  await k?.close();
});
const GORILLA = encodeURIComponent('🦍');

describe('/entities?tags= with DB', () => {
  beforeAll(async () => {
    await k.truncate();
    for (let i = 1; i <= 2; i++) {
      const tags = ['corp_ a', `consumer_ ${i}`, '🦍'];
      const row = await k.bp.consumers({ username: `adminapi-filter-by-tag-${i}`, tags });
      expect(row.tags).toEqual(tags);
      await k.bp.plugins({ name: 'request-transformer', consumer: { id: row.id }, tags: ['corp_ a', `consumer_ ${i}`] });
    }
  });

  it(`${SPEC}: filter by single tag`, async () => {
    const res = await k.get('/consumers?tags=corp_%20a');
    expect(res.status).toBe(200);
    expect(res.body.data).toHaveLength(2);
    for (const c of res.body.data) expect(c.tags).toContain('corp_ a');
  });

  it(`${SPEC}: filter by single unicode tag`, async () => {
    const res = await k.get(`/consumers?tags=${GORILLA}`);
    expect(res.status).toBe(200);
    expect(res.body.data).toHaveLength(2);
    for (const c of res.body.data) expect(c.tags).toContain('🦍');
  });

  it(`${SPEC}: filter by empty tag`, async () => {
    const res = await k.get('/consumers?tags=');
    expect(res.status).toBe(400);
    expect(res.body.message).toBe('invalid option (tags: cannot be null)');
  });

  it(`${SPEC}: filter by empty string tag`, async () => {
    const res = await k.get("/consumers?tags=''");
    expect(res.status).toBe(200);
    expect(res.body.data).toHaveLength(0);
  });

  it(`${SPEC}: filter by multiple tags with AND`, async () => {
    const res = await k.get('/consumers?tags=corp_%20a,consumer_%201');
    expect(res.status).toBe(200);
    expect(res.body.data).toHaveLength(1);
    expect(res.body.data[0].tags).toHaveLength(3);
    for (const t of ['corp_ a', 'consumer_ 1', '🦍']) expect(res.body.data[0].tags).toContain(t);
  });

  it(`${SPEC}: filter by multiple tags with OR`, async () => {
    const res = await k.get('/consumers?tags=consumer_%202/consumer_%201');
    expect(res.status).toBe(200);
    expect(res.body.data).toHaveLength(2);
  });

  it(`${SPEC}: ignores tags when filtering by multiple filters #6779`, async () => {
    const res = await k.get('/consumers/adminapi-filter-by-tag-1/plugins?tags=consumer_%202');
    expect(res.status).toBe(200);
    expect(res.body.data).toHaveLength(1);
    expect(res.body.data[0].tags).toContain('corp_ a');
    expect(res.body.data[0].tags).toContain('consumer_ 1');
    expect(res.body.data[0].tags).not.toContain('consumer_ 2');
  });

  it(`${SPEC}: errors if filter by mix of AND and OR`, async () => {
    for (const q of ['consumer_%203,consumer_%202/consumer_%201', 'consumer_%203/consumer_%202,consumer_%201']) {
      const res = await k.get(`/consumers?tags=${q}`);
      expect(res.status).toBe(400);
      expect(res.body.message).toBe('invalid option (tags: invalid filter syntax)');
    }
  });

  it(`${SPEC}: errors if filter by tag with invalid value`, async () => {
    const res = await k.get('/consumers?tags=%FF');
    expect(res.status).toBe(400);
    expect(res.body.message).toBe('invalid option (tags: invalid filter syntax)');
  });

  it(`${SPEC}: returns the correct 'next' arg`, async () => {
    const res = await k.get('/consumers?tags=corp_%20a&size=1');
    expect(res.status).toBe(200);
    expect(res.body.data).toHaveLength(1);
    expect(res.body.next).toContain('tags=corp_%20a');
  });
});

describe('/tags with DB', () => {
  beforeAll(async () => {
    await k.truncate();
    for (let i = 1; i <= 2; i++) await k.bp.consumers({ username: `adminapi-filter-by-tag-${i}`, tags: ['corp_ a', `consumer_ ${i}`] });
  });

  it(`${SPEC}: /tags`, async () => {
    expect((await k.get('/tags')).body.data).toHaveLength(4);
  });

  it(`${SPEC}: /tags/:tags`, async () => {
    expect((await k.get('/tags/corp_%20a')).body.data).toHaveLength(2);
  });

  it(`${SPEC}: /tags/:tags with a not exist tag`, async () => {
    expect((await k.get('/tags/does-not-exist')).body.data).toHaveLength(0);
  });

  it(`${SPEC}: /tags/:tags with invalid :tags value`, async () => {
    const res = await k.get('/tags/%FF');
    expect(res.status).toBe(400);
    expect(res.body.message).toMatch(/invalid utf-8/);
  });

  it(`${SPEC}: /tags ignores ?tags= query`, async () => {
    expect((await k.get('/tags?tags=not_a_tag')).body.data).toHaveLength(4);
    expect((await k.get('/tags?tags=invalid@tag')).body.data).toHaveLength(4);
  });

  it(`${SPEC}: /tags/:tags ignores ?tags= query`, async () => {
    expect((await k.get('/tags/corp_%20a?tags=not_a_tag')).body.data).toHaveLength(2);
    expect((await k.get('/tags/corp_%20a?tags=invalid@tag')).body.data).toHaveLength(2);
  });
});
