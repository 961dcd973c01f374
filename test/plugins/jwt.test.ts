// jwt end to end against real Postgres, the Admin API and a proxy fed by its change events, in
// front of a real upstream. Kong's spec/03-plugins/16-jwt/02-api_spec.lua (Admin API),
// 03-access_spec.lua (proxy) and 06-schema_spec.lua translated: each test names its `it`.
import { generateKeyPairSync, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { get, type Res } from '../support/proxy-fixtures.ts';
import { pluginStack, type PluginStack } from '../support/plugin-stack.ts';
import { validatePluginConfig } from '../../src/plugins/registry.ts';
import { encodeJwt } from '../../src/plugins/jwt/parser.ts';
import type { JwtAlgorithm } from '../../src/plugins/jwt/daos.ts';

let s: PluginStack;
/** A key pair of `type` as PEM text, the way a user gives Kong an rsa_public_key. */
function pemPair(type: 'rsa' | 'ec' | 'ed25519' | 'ed448', options: { modulusLength?: number; namedCurve?: string } = {}): { publicKey: string; privateKey: string } {
  const k = generateKeyPairSync(type as 'rsa', options as { modulusLength: number });
  return { publicKey: k.publicKey.export({ type: 'spki', format: 'pem' }) as string, privateKey: k.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string };
}
const rsa = pemPair('rsa', { modulusLength: 2048 });
const rsa2 = pemPair('rsa', { modulusLength: 2048 });
const asym: Record<string, { publicKey: string; privateKey: string }> = {
  RS256: rsa,
  RS384: rsa2,
  RS512: rsa,
  ES256: pemPair('ec', { namedCurve: 'P-256' }),
  ES384: pemPair('ec', { namedCurve: 'P-384' }),
  ES512: pemPair('ec', { namedCurve: 'P-521' }),
  PS256: rsa2,
  PS384: rsa,
  PS512: rsa2,
  EdDSA: pemPair('ed25519'),
};

const now = () => Math.floor(Date.now() / 1000);
const payload = (iss: string | undefined, extra: Record<string, unknown> = {}) => ({ iss, nbf: now(), iat: now(), exp: now() + 3600, ...extra });
const secrets: Record<string, { id: string; key: string; secret: string }> = {};
let anonymous: { id: string };
const missingAnonymous = randomUUID();

const proxy = (path: string, headers: Record<string, string> = {}, method = 'GET'): Promise<Res> => get(`${s.proxyUrl}${path}`, { headers, method });
const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

beforeAll(async () => {
  s = await pluginStack('jwt');
  await s.ok('POST', '/services', { name: 'echo', url: `http://127.0.0.1:${s.upstream.port}` });
  const routes: Record<string, Record<string, unknown>> = {
    jwt1: {},
    jwt2: { uri_param_names: ['token', 'jwt'] },
    jwt3: { claims_to_verify: ['nbf', 'exp'] },
    jwt4: { key_claim_name: 'aud' },
    jwt5: { secret_is_base64: true },
    jwt6: {},
    jwt7: {},
    jwt8: { run_on_preflight: false },
    jwt9: { cookie_names: ['silly', 'crumble'], realm: 'test-jwt' },
    jwt10: { key_claim_name: 'kid' },
    jwt11: { claims_to_verify: ['nbf', 'exp'], maximum_expiration: 300 },
    jwt12: { header_names: ['CustomAuthorization'] },
    jwt13: {},
  };
  anonymous = await s.ok('POST', '/consumers', { username: 'no-body' });
  routes.jwt6 = { anonymous: anonymous.id };
  routes.jwt7 = { anonymous: missingAnonymous };
  routes.jwt13 = { anonymous: 'no-body' };
  for (const [name, config] of Object.entries(routes)) {
    await s.ok('POST', '/services/echo/routes', { name, paths: [`/${name}`] });
    await s.ok('POST', `/routes/${name}/plugins`, { name: 'jwt', config });
  }
  for (const name of ['jwt_tests_consumer', 'jwt_tests_base64_consumer']) {
    await s.ok('POST', '/consumers', { username: name });
    secrets[name] = await s.ok('POST', `/consumers/${name}/jwt`, {});
  }
  for (const alg of Object.keys(asym)) {
    await s.ok('POST', '/consumers', { username: `jwt_tests_${alg}` });
    secrets[alg] = await s.ok('POST', `/consumers/jwt_tests_${alg}/jwt`, { algorithm: alg, rsa_public_key: asym[alg]!.publicKey });
  }
  for (const alg of ['HS384', 'HS512']) {
    await s.ok('POST', '/consumers', { username: `jwt_tests_${alg}` });
    secrets[alg] = await s.ok('POST', `/consumers/jwt_tests_${alg}/jwt`, { algorithm: alg, secret: `${alg}-secret-of-some-length` });
  }
});

afterAll(async () => {
  await s?.close();
});

describe('Plugin: jwt (API) — spec/03-plugins/16-jwt/02-api_spec.lua', () => {
  let bob: { id: string };
  beforeAll(async () => {
    bob = await s.ok('POST', '/consumers', { username: 'bob' });
  });

  test('POST /consumers/:consumer/jwt: creates a jwt secret', async () => {
    const r = await s.call('POST', '/consumers/bob/jwt', {});
    expect(r.status).toBe(201);
    expect(r.body.consumer.id).toBe(bob.id);
    expect(Object.keys(r.body).sort()).toEqual(['algorithm', 'consumer', 'created_at', 'id', 'key', 'rsa_public_key', 'secret', 'tags']);
    expect(r.body).toMatchObject({ algorithm: 'HS256', rsa_public_key: null, tags: null });
  });
  test('creates a jwt secret with tags', async () => {
    const r = await s.call('POST', '/consumers/bob/jwt', undefined, 'tags[]=tag1&tags[]=tag2');
    expect(r.status).toBe(201);
    expect(r.body.tags).toEqual(['tag1', 'tag2']);
  });
  test('accepts any given `secret` and `key` parameters', async () => {
    const r = await s.call('POST', '/consumers/bob/jwt', { key: 'bob2', secret: 'tooshort' });
    expect(r.status).toBe(201);
    expect(r.body).toMatchObject({ key: 'bob2', secret: 'tooshort' });
  });
  test('accepts duplicate `secret` parameters across jwt_secrets', async () => {
    await s.ok('POST', '/consumers', { username: 'alice' });
    const a = await s.call('POST', '/consumers/alice/jwt', { key: 'alice', secret: 'foobarbaz' });
    const b = await s.call('POST', '/consumers/bob/jwt', { key: 'bobsyouruncle', secret: 'foobarbaz' });
    expect([a.status, b.status]).toEqual([201, 201]);
    expect(a.body.secret).toBe(b.body.secret);
  });
  test('accepts a valid public key for RS256 when posted urlencoded', async () => {
    const r = await s.call('POST', '/consumers/bob/jwt', undefined, `key=bob3&algorithm=RS256&rsa_public_key=${encodeURIComponent(rsa.publicKey)}`);
    expect(r.status).toBe(201);
    expect(r.body).toMatchObject({ key: 'bob3', rsa_public_key: rsa.publicKey });
  });
  test('accepts a valid public key for RS256 when posted as json', async () => {
    const r = await s.call('POST', '/consumers/bob/jwt', { key: 'bob4', algorithm: 'RS256', rsa_public_key: rsa.publicKey });
    expect(r.status).toBe(201);
    expect(r.body.key).toBe('bob4');
  });
  test('fails with missing `rsa_public_key` parameter for RS256 algorithms', async () => {
    const r = await s.call('POST', '/consumers/bob/jwt', { key: 'bob5', algorithm: 'RS256' });
    expect(r.status).toBe(400);
    expect(r.body.fields).toEqual({ rsa_public_key: 'required field missing', '@entity': ["failed conditional validation given value of field 'algorithm'"] });
  });
  test('fails with an invalid rsa_public_key for RS256 algorithms', async () => {
    const r = await s.call('POST', '/consumers/bob/jwt', { key: 'bob5', algorithm: 'RS256', rsa_public_key: 'test' });
    expect(r.status).toBe(400);
    expect(r.body.fields).toEqual({ rsa_public_key: 'invalid key', '@entity': ["failed conditional validation given value of field 'algorithm'"] });
  });
  test('does not fail when `secret` parameter for HS256 algorithms is missing', async () => {
    const r = await s.call('POST', '/consumers/bob/jwt', { key: 'bob5', algorithm: 'HS256' });
    expect(r.status).toBe(201);
    expect(r.body.secret).toMatch(/^[A-Za-z0-9]{32}$/);
  });
  test('GET /consumers/:consumer/jwt: retrieves all', async () => {
    const r = await s.call('GET', '/consumers/bob/jwt');
    expect(r.status).toBe(200);
    // Kong's spec counts 6 of its own; here: the seven created above under bob.
    expect(r.body.data.map((c: { key: string }) => c.key)).toEqual(expect.arrayContaining(['bob2', 'bob3', 'bob4', 'bob5', 'bobsyouruncle']));
    expect(r.body.data).toHaveLength(7);
  });
  test('GET /consumers/:consumer/jwt/:id: retrieves by id, retrieves by key', async () => {
    const created = await s.ok('POST', '/consumers/bob/jwt', { key: 'by-key' });
    expect((await s.call('GET', `/consumers/bob/jwt/${created.id}`)).status).toBe(200);
    expect((await s.call('GET', '/consumers/bob/jwt/by-key')).body.id).toBe(created.id);
  });
  test('PUT /consumers/:consumer/jwt/:id: creates and update', async () => {
    const r = await s.call('PUT', '/consumers/bob/jwt/abcd', {});
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ key: 'abcd', consumer: { id: bob.id } });
  });
  test('PATCH: updates a credential by id; updates a credential by key', async () => {
    const c = await s.ok('GET', '/consumers/bob/jwt/abcd');
    expect((await s.call('PATCH', `/consumers/bob/jwt/${c.id}`, { secret: 'newsecret' })).body.secret).toBe('newsecret');
    expect((await s.call('PATCH', '/consumers/bob/jwt/abcd', { secret: 'newsecret2' })).body.secret).toBe('newsecret2');
  });
  test('DELETE: deletes a credential; returns proper errors', async () => {
    expect((await s.call('DELETE', '/consumers/bob/jwt/abcd')).status).toBe(204);
    expect((await s.call('GET', '/consumers/bob/jwt/abcd')).status).toBe(404);
    // Kong's spec: a missing credential under the consumer is a 404
    expect((await s.call('DELETE', '/consumers/bob/jwt/blah')).status).toBe(404);
    expect((await s.call('DELETE', `/consumers/bob/jwt/${randomUUID()}`)).status).toBe(404);
    expect((await s.call('GET', '/consumers/nobody/jwt')).status).toBe(404);
  });
  test('/jwts: retrieves all the jwts with and without trailing slash; paginates through the jwts', async () => {
    const all = await s.call('GET', '/jwts');
    expect(all.status).toBe(200);
    expect(all.body.data.length).toBeGreaterThan(6);
    expect((await s.call('GET', '/jwts/')).body.data.length).toBe(all.body.data.length);
    const p1 = await s.call('GET', '/jwts?size=1');
    expect(p1.body.data).toHaveLength(1);
    const p2 = await s.call('GET', p1.body.next);
    expect(p2.body.data).toHaveLength(1);
    expect(p2.body.data[0].id).not.toBe(p1.body.data[0].id);
  });
  // Not translated: "POST /jwts: does not create jwt credential when missing consumer" and
  // "creates jwt credential". Gossamer's credential collections take no POST (src/admin/credentials.ts):
  // a credential is created under its consumer or by PUT /jwts/{key}.
  test('PUT /jwts/:jwt_key_or_id: does not create jwt credential when missing consumer; creates jwt credential', async () => {
    const missing = await s.call('PUT', '/jwts/key2', {});
    expect([missing.status, missing.body.message]).toEqual([400, 'schema violation (consumer: required field missing)']);
    const r = await s.call('PUT', '/jwts/key2', { consumer: { id: bob.id } });
    expect([r.status, r.body.key]).toEqual([200, 'key2']);
  });
  test('GET /jwts/:jwt_key_or_id/consumer: from a JWT id, from a JWT key, 404 for random id and key', async () => {
    const c = await s.ok('GET', '/jwts/key2');
    expect((await s.call('GET', `/jwts/${c.id}/consumer`)).body).toEqual(bob);
    expect((await s.call('GET', '/jwts/key2/consumer')).body).toEqual(bob);
    expect((await s.call('GET', `/jwts/${randomUUID()}/consumer`)).status).toBe(404);
    expect((await s.call('GET', '/jwts/random-key/consumer')).status).toBe(404);
  });
  test('deleting the consumer deletes its secrets', async () => {
    await s.ok('POST', '/consumers', { username: 'temp' });
    await s.ok('POST', '/consumers/temp/jwt', { key: 'temp-key' });
    expect((await s.call('DELETE', '/consumers/temp')).status).toBe(204);
    expect((await s.call('GET', '/jwts/temp-key')).status).toBe(404);
  });
});

describe('Plugin: jwt (schema) — spec/03-plugins/16-jwt/06-schema_spec.lua', () => {
  test("validates 'maximum_expiration'", () => {
    expect(validatePluginConfig('jwt', { maximum_expiration: 60, claims_to_verify: ['exp', 'nbf'] }).ok).toBe(true);
  });
  test("errors when 'maximum_expiration' is negative", () => {
    for (const claims_to_verify of [['exp', 'nbf'], ['nbf']]) {
      const r = validatePluginConfig('jwt', { maximum_expiration: -1, claims_to_verify });
      expect(r.ok || r.fields.maximum_expiration).toBe('value should be between 0 and 31536000');
    }
  });
  test("errors when 'maximum_expiration' is specified without 'exp' in 'claims_to_verify'", () => {
    const r = validatePluginConfig('jwt', { maximum_expiration: 60, claims_to_verify: ['nbf'] });
    expect(r.ok || r.fields.claims_to_verify).toBe('expected to contain: exp');
  });
  test('Kong defaults', () => {
    expect(validatePluginConfig('jwt', {})).toEqual({
      ok: true,
      config: {
        uri_param_names: ['jwt'], cookie_names: [], key_claim_name: 'iss', secret_is_base64: false, claims_to_verify: null, anonymous: null,
        run_on_preflight: true, maximum_expiration: 0, header_names: ['authorization'], realm: null,
      },
    });
  });
});

describe('Plugin: jwt (access) — spec/03-plugins/16-jwt/03-access_spec.lua: refusals', () => {
  const hs = () => secrets.jwt_tests_consumer!;
  test('returns 401 Unauthorized if no JWT is found in the request', async () => {
    const r = await proxy('/jwt1');
    expect([r.status, r.headers['www-authenticate'], r.text]).toEqual([401, 'Bearer', '{"message":"Unauthorized"}']);
  });
  test('returns 401 if the claims do not contain the key to identify a secret', async () => {
    const r = await proxy('/jwt1', bearer(encodeJwt(payload(undefined), 'foo')));
    expect([r.status, r.json(), r.headers['www-authenticate']]).toEqual([401, { message: "No mandatory 'iss' in claims" }, 'Bearer error="invalid_token"']);
  });
  test('returns 401 if the claims do not contain a valid key to identify a secret', async () => {
    const r = await proxy('/jwt1', bearer(encodeJwt(payload(''), 'foo')));
    expect([r.status, r.json(), r.headers['www-authenticate']]).toEqual([401, { message: "Invalid 'iss' in claims" }, 'Bearer error="invalid_token"']);
  });
  test('returns 401 Unauthorized if the iss does not match a credential', async () => {
    const r = await proxy('/jwt1', bearer(encodeJwt(payload('123456789'), hs().secret)));
    expect([r.status, r.json()]).toEqual([401, { message: "No credentials found for given 'iss'" }]);
  });
  test('returns 401 Unauthorized if the signature is invalid', async () => {
    const r = await proxy('/jwt1', bearer(encodeJwt(payload(hs().key), 'foo')));
    expect([r.status, r.json(), r.headers['www-authenticate']]).toEqual([401, { message: 'Invalid signature' }, 'Bearer error="invalid_token"']);
  });
  test('returns 401 Unauthorized if the alg does not match the credential', async () => {
    const r = await proxy('/jwt1', bearer(encodeJwt(payload(hs().key), hs().secret, 'HS256', { typ: 'JWT', alg: 'RS256' })));
    expect([r.status, r.json()]).toEqual([401, { message: 'Invalid algorithm' }]);
  });
  test('returns 200 on OPTIONS requests if run_on_preflight is false', async () => {
    expect((await proxy('/jwt8', {}, 'OPTIONS')).status).toBe(200);
  });
  test('returns Unauthorized on OPTIONS requests if run_on_preflight is true', async () => {
    const r = await proxy('/jwt1', {}, 'OPTIONS');
    expect([r.status, r.text, r.headers['www-authenticate']]).toEqual([401, '{"message":"Unauthorized"}', 'Bearer']);
  });
  test('returns 401 if the token exceeds the maximum allowed expiration limit', async () => {
    const r = await proxy('/jwt11', bearer(encodeJwt({ iss: hs().key, exp: now() + 3600, nbf: now() - 30 }, hs().secret)));
    expect([r.status, r.text, r.headers['www-authenticate']]).toEqual([401, '{"exp":"exceeds maximum allowed expiration"}', 'Bearer error="invalid_token"']);
  });
  test('accepts a JWT token within the maximum allowed expiration limit', async () => {
    expect((await proxy('/jwt11', bearer(encodeJwt({ iss: hs().key, exp: now() + 270, nbf: now() - 30 }, hs().secret)))).status).toBe(200);
  });
  test('reject if multiple different tokens found', async () => {
    const jwt = encodeJwt(payload(hs().key), hs().secret);
    const r = await proxy(`/jwt1?jwt=${jwt}`, { authorization: 'Bearer invalid.jwt.token' });
    expect([r.status, r.json(), r.headers['www-authenticate']]).toEqual([401, { message: 'Multiple tokens provided' }, 'Bearer error="invalid_token"']);
  });
});

describe('Plugin: jwt (access): HS256', () => {
  const hs = () => secrets.jwt_tests_consumer!;
  test('proxies the request with token and consumer headers if it was verified', async () => {
    const jwt = encodeJwt(payload(hs().key), hs().secret);
    const r = await proxy('/jwt1', bearer(jwt));
    expect(r.status).toBe(200);
    const h = r.json().headers;
    expect([h.authorization, h['x-consumer-username'], h['x-credential-identifier'], h['x-anonymous-consumer']]).toEqual([`Bearer ${jwt}`, 'jwt_tests_consumer', hs().key, undefined]);
  });
  test('proxies the request if the key is found in headers', async () => {
    const jwt = encodeJwt({ exp: now() + 3600 }, hs().secret, 'HS256', { typ: 'JWT', alg: 'HS256', iss: hs().key });
    expect((await proxy('/jwt1', bearer(jwt))).status).toBe(200);
  });
  test('proxies the request if secret key is stored in a field other than iss', async () => {
    const r = await proxy('/jwt4', bearer(encodeJwt({ aud: hs().key }, hs().secret)));
    expect([r.status, r.json().headers['x-consumer-username'], r.json().headers['x-credential-identifier']]).toEqual([200, 'jwt_tests_consumer', hs().key]);
  });
  test('proxies the request if secret is base64', async () => {
    const c = secrets.jwt_tests_base64_consumer!;
    await s.ok('PATCH', `/consumers/jwt_tests_base64_consumer/jwt/${c.id}`, { key: c.key, secret: Buffer.from(c.secret).toString('base64') });
    const r = await proxy('/jwt5', bearer(encodeJwt(payload(c.key), c.secret)));
    expect([r.status, r.json().headers['x-consumer-username'], r.json().headers['x-credential-identifier']]).toEqual([200, 'jwt_tests_base64_consumer', c.key]);
  });
  test('returns 200 the JWT is found in the cookie crumble; returns 200 if the JWT is found in the cookie silly', async () => {
    const jwt = encodeJwt(payload(hs().key), hs().secret);
    expect((await proxy('/jwt9', { cookie: `crumble=${jwt}; path=/;domain=.jwt9.test` })).status).toBe(200);
    expect((await proxy('/jwt9', { cookie: `silly=${jwt}; path=/;domain=.jwt9.test` })).status).toBe(200);
  });
  test('returns 401 if the JWT found in the cookie does not match a credential', async () => {
    const r = await proxy('/jwt9', { cookie: `silly=${encodeJwt(payload('incorrect'), hs().secret)}; path=/;domain=.jwt9.test` });
    expect([r.status, r.json(), r.headers['www-authenticate']]).toEqual([401, { message: "No credentials found for given 'iss'" }, 'Bearer realm="test-jwt", error="invalid_token"']);
  });
  test('returns a 401 if the JWT in the cookie is corrupted', async () => {
    const r = await proxy('/jwt9', { cookie: `silly=no-way-this-works${encodeJwt(payload(hs().key), hs().secret)}; path=/;domain=.jwt9.test` });
    expect([r.status, r.text, r.headers['www-authenticate']]).toEqual([401, '{"message":"Bad token; invalid JSON"}', 'Bearer realm="test-jwt", error="invalid_token"']);
  });
  test('reports a 200 without cookies but with a JWT token in the Authorization header', async () => {
    expect((await proxy('/jwt9', bearer(encodeJwt(payload(hs().key), hs().secret)))).status).toBe(200);
  });
  test('returns 401 if no JWT tokens are found in cookies or Authorization header', async () => {
    const r = await proxy('/jwt9');
    expect([r.status, r.headers['www-authenticate']]).toEqual([401, 'Bearer realm="test-jwt"']);
  });
  test('returns 200 without cookies but with a JWT token in the CustomAuthorization header', async () => {
    expect((await proxy('/jwt12', { CustomAuthorization: `Bearer ${encodeJwt(payload(hs().key), hs().secret)}` })).status).toBe(200);
  });
  test('finds the JWT in the first header occurrence of a duplicated custom authorization header', async () => {
    const jwt = encodeJwt(payload(hs().key), hs().secret);
    const r = await get(`${s.proxyUrl}/jwt12`, { headers: ['customauthorization', `Bearer ${jwt}`, 'customauthorization', 'Bearer other-token'] as never });
    expect(r.status).toBe(200);
  });
  test('finds the JWT if given in URL parameters; finds the JWT if given in a custom URL parameter', async () => {
    const jwt = encodeJwt(payload(hs().key), hs().secret);
    expect((await proxy(`/jwt1/?jwt=${jwt}`)).status).toBe(200);
    expect((await proxy(`/jwt2/?token=${jwt}`)).status).toBe(200);
  });
});

describe('Plugin: jwt (access): asymmetric algorithms and HS384/HS512 — "verifies JWT", "identifies Consumer"', () => {
  for (const alg of Object.keys(asym) as JwtAlgorithm[]) {
    test(`${alg}: verifies JWT and identifies Consumer`, async () => {
      const jwt = encodeJwt(payload(secrets[alg]!.key), asym[alg]!.privateKey, alg);
      const r = await proxy('/jwt1', bearer(jwt));
      expect(r.status).toBe(200);
      const h = r.json().headers;
      expect([h.authorization, h['x-consumer-username'], h['x-credential-identifier'], h['x-credential-username']]).toEqual([`Bearer ${jwt}`, `jwt_tests_${alg}`, secrets[alg]!.key, undefined]);
    });
  }
  test('RS256: proxies the request if conf.secret is base64 (the public key is never decoded)', async () => {
    const r = await proxy('/jwt5', bearer(encodeJwt(payload(secrets.RS256!.key), rsa.privateKey, 'RS256')));
    expect([r.status, r.json().headers['x-consumer-username']]).toEqual([200, 'jwt_tests_RS256']);
  });
  for (const alg of ['HS384', 'HS512'] as const) {
    test(`${alg}: proxies the request with token and consumer headers if it was verified`, async () => {
      const r = await proxy('/jwt1', bearer(encodeJwt(payload(secrets[alg]!.key), `${alg}-secret-of-some-length`, alg)));
      expect([r.status, r.json().headers['x-consumer-username'], r.json().headers['x-credential-identifier']]).toEqual([200, `jwt_tests_${alg}`, secrets[alg]!.key]);
    });
  }
  test('a token signed by another key of the same algorithm: Invalid signature', async () => {
    const r = await proxy('/jwt1', bearer(encodeJwt(payload(secrets.RS384!.key), rsa.privateKey, 'RS384')));
    expect([r.status, r.json()]).toEqual([401, { message: 'Invalid signature' }]);
  });
});

describe('Plugin: jwt (access): JWT private claims checks', () => {
  const hs = () => secrets.jwt_tests_consumer!;
  test('requires the checked fields to be in the claims', async () => {
    const r = await proxy('/jwt3', bearer(encodeJwt({ iss: hs().key }, hs().secret)));
    expect([r.status, r.json(), r.headers['www-authenticate']]).toEqual([401, { nbf: 'must be a number', exp: 'must be a number' }, 'Bearer error="invalid_token"']);
  });
  test('checks if the fields are valid: `exp` claim', async () => {
    const r = await proxy('/jwt3', bearer(encodeJwt({ iss: hs().key, exp: now() - 10, nbf: now() - 10 }, hs().secret)));
    expect([r.status, r.text]).toEqual([401, '{"exp":"token expired"}']);
  });
  test('checks if the fields are valid: `nbf` claim', async () => {
    const r = await proxy('/jwt3', bearer(encodeJwt({ iss: hs().key, exp: now() + 10, nbf: now() + 5 }, hs().secret)));
    expect([r.status, r.text]).toEqual([401, '{"nbf":"token not valid yet"}']);
  });
});

describe('Plugin: jwt (access): ctx.authenticated_jwt_token', () => {
  // Kong checks kong.ctx.shared with its ctx-checker test plugin; here request-transformer
  // (priority 801, after jwt's 1450) reads the same shared table through $(shared.…).
  test('is added to kong.ctx.shared when authenticated', async () => {
    await s.ok('POST', '/services/echo/routes', { name: 'jwt-ctx', paths: ['/jwt-ctx'] });
    await s.ok('POST', '/routes/jwt-ctx/plugins', { name: 'jwt' });
    await s.ok('POST', '/routes/jwt-ctx/plugins', { name: 'request-transformer', config: { add: { headers: ['x-jwt-token:$(shared.authenticated_jwt_token or "none")'] } } });
    const jwt = encodeJwt(payload(secrets.jwt_tests_consumer!.key), secrets.jwt_tests_consumer!.secret);
    const r = await proxy('/jwt-ctx', bearer(jwt));
    expect([r.status, r.json().headers['x-jwt-token']]).toEqual([200, jwt]);
  });
});

describe('Plugin: jwt (access): config.anonymous', () => {
  const hs = () => secrets.jwt_tests_consumer!;
  test('works with right credentials and anonymous', async () => {
    const r = await proxy('/jwt6', bearer(encodeJwt(payload(hs().key), hs().secret)));
    expect([r.status, r.json().headers['x-consumer-username'], r.json().headers['x-credential-identifier']]).toEqual([200, 'jwt_tests_consumer', hs().key]);
  });
  test('works with wrong credentials and anonymous; works with wrong credentials and username in anonymous', async () => {
    for (const path of ['/jwt6', '/jwt13']) {
      const h = (await proxy(path)).json().headers;
      expect([h['x-anonymous-consumer'], h['x-consumer-username'], h['x-credential-identifier']]).toEqual(['true', 'no-body', undefined]);
    }
  });
  test("errors when anonymous user doesn't exist", async () => {
    const r = await proxy('/jwt7');
    expect([r.status, r.json().message]).toEqual([500, `anonymous consumer ${missingAnonymous} is configured but doesn't exist`]);
  });
});

describe('Plugin: jwt (access): multiple auth with key-auth (logical AND / OR)', () => {
  let user1: { id: string };
  let user2: { id: string };
  let keyId: string;
  let iss: string;
  let token: string;
  beforeAll(async () => {
    for (const name of ['logical-and', 'logical-or']) await s.ok('POST', '/services/echo/routes', { name, paths: [`/${name}`] });
    await s.ok('POST', '/routes/logical-and/plugins', { name: 'jwt' });
    await s.ok('POST', '/routes/logical-and/plugins', { name: 'key-auth' });
    const anon = await s.ok('POST', '/consumers', { username: 'Anonymous' });
    await s.ok('POST', '/routes/logical-or/plugins', { name: 'jwt', config: { anonymous: anon.id } });
    await s.ok('POST', '/routes/logical-or/plugins', { name: 'key-auth', config: { anonymous: anon.id } });
    user1 = await s.ok('POST', '/consumers', { username: 'Mickey' });
    user2 = await s.ok('POST', '/consumers', { username: 'Aladdin' });
    keyId = (await s.ok('POST', '/consumers/Mickey/key-auth', { key: 'Mouse' })).id;
    const secret = await s.ok('POST', '/consumers/Aladdin/jwt', {});
    iss = secret.key;
    token = `Bearer ${encodeJwt(payload(iss), secret.secret)}`;
    anonymous = anon;
  });
  test('logical AND: passes with all credentials provided', async () => {
    const r = await proxy('/logical-and', { apikey: 'Mouse', authorization: token });
    const h = r.json().headers;
    expect([r.status, h['x-anonymous-consumer'], h['x-credential-identifier']]).toEqual([200, undefined, keyId]);
    expect([user1.id, user2.id]).toContain(h['x-consumer-id']);
  });
  test('logical AND: fails 401, with only the first credential provided', async () => {
    const r = await proxy('/logical-and', { apikey: 'Mouse' });
    expect([r.status, r.headers['www-authenticate']]).toEqual([401, 'Bearer']);
  });
  test('logical AND: fails 401, with only the second credential provided', async () => {
    const r = await proxy('/logical-and', { authorization: token });
    expect([r.status, r.headers['www-authenticate']]).toEqual([401, 'Key realm="gossamer"']);
  });
  test('logical AND: fails 401, with no credential provided', async () => {
    const r = await proxy('/logical-and');
    expect([r.status, r.headers['www-authenticate']]).toEqual([401, 'Bearer']);
  });
  test('logical OR: passes with all credentials provided', async () => {
    const h = (await proxy('/logical-or', { apikey: 'Mouse', authorization: token })).json().headers;
    expect([h['x-anonymous-consumer'], h['x-credential-identifier']]).toEqual([undefined, iss]);
    expect(h['x-consumer-id']).not.toBe(anonymous.id);
  });
  test('logical OR: passes with only the first credential provided', async () => {
    const h = (await proxy('/logical-or', { apikey: 'Mouse' })).json().headers;
    expect([h['x-anonymous-consumer'], h['x-consumer-id']]).toEqual([undefined, user1.id]);
    expect(h['x-credential-identifier']).not.toBe(iss);
  });
  test('logical OR: passes with only the second credential provided', async () => {
    const h = (await proxy('/logical-or', { authorization: token })).json().headers;
    expect([h['x-anonymous-consumer'], h['x-consumer-id'], h['x-credential-identifier']]).toEqual([undefined, user2.id, iss]);
  });
  test('logical OR: passes with no credential provided', async () => {
    const h = (await proxy('/logical-or')).json().headers;
    expect([h['x-anonymous-consumer'], h['x-consumer-id']]).toEqual(['true', anonymous.id]);
  });
});

describe('Plugin: jwt (invalidations) — spec/03-plugins/16-jwt/04-invalidations_spec.lua', () => {
  const call = (key: string, secret: string) => proxy('/jwt1', bearer(encodeJwt(payload(key), secret)));
  test('should invalidate when JWT Auth Credential entity is deleted', async () => {
    await s.ok('POST', '/consumers', { username: 'inval-del' });
    const c = await s.ok('POST', '/consumers/inval-del/jwt', { key: 'inval-del-key', secret: 'one' });
    expect((await call('inval-del-key', 'one')).status).toBe(200);
    expect((await s.call('DELETE', `/consumers/inval-del/jwt/${c.id}`)).status).toBe(204);
    const r = await call('inval-del-key', 'one');
    expect([r.status, r.json()]).toEqual([401, { message: "No credentials found for given 'iss'" }]);
  });
  test('should invalidate when JWT Auth Credential entity is updated', async () => {
    await s.ok('POST', '/consumers', { username: 'inval-upd' });
    const c = await s.ok('POST', '/consumers/inval-upd/jwt', { key: 'inval-upd-key', secret: 'one' });
    expect((await call('inval-upd-key', 'one')).status).toBe(200);
    await s.ok('PATCH', `/jwts/${c.id}`, { key: 'inval-upd-key2', secret: 'two' });
    expect((await call('inval-upd-key', 'one')).json()).toEqual({ message: "No credentials found for given 'iss'" });
    expect((await call('inval-upd-key2', 'one')).json()).toEqual({ message: 'Invalid signature' });
    expect((await call('inval-upd-key2', 'two')).status).toBe(200);
  });
  test('should invalidate when Consumer entity is deleted', async () => {
    await s.ok('POST', '/consumers', { username: 'inval-consumer' });
    await s.ok('POST', '/consumers/inval-consumer/jwt', { key: 'inval-consumer-key', secret: 'one' });
    expect((await call('inval-consumer-key', 'one')).status).toBe(200);
    expect((await s.call('DELETE', '/consumers/inval-consumer')).status).toBe(204);
    expect((await call('inval-consumer-key', 'one')).json()).toEqual({ message: "No credentials found for given 'iss'" });
  });
});
