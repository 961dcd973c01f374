// The pure parts of hmac-auth and bot-detection: Kong's Authorization fields, signing string and
// body digest (kong/plugins/hmac-auth/access.lua), and Kong's default bot rules with allow/deny
// (kong/plugins/bot-detection/{rules,handler}.lua).
import { createHmac } from 'node:crypto';
import { describe, expect, test } from 'vitest';
import { bodyDigest, decodeBase64, hmacSign, parseHmacAuthorization, signingString, type SigningRequest } from '../../src/plugins/hmac-auth/signature.ts';
import { parseHttpDate } from '../../src/plugins/hmac-auth/http-date.ts';
import { BOT_RULES } from '../../src/plugins/bot-detection/rules.ts';
import { MATCH_ALLOW, MATCH_BOT, MATCH_DENY, MATCH_EMPTY, botMatcher, isRefused } from '../../src/plugins/bot-detection/matcher.ts';

describe('hmac-auth signature', () => {
  test('parses Kong\'s Authorization format, with or without spaces between fields', () => {
    expect(parseHmacAuthorization('hmac username="bob", algorithm="hmac-sha256", headers="date request-line", signature="c2ln"')).toEqual({
      username: 'bob', algorithm: 'hmac-sha256', headers: ['date', 'request-line'], signature: 'c2ln',
    });
    expect(parseHmacAuthorization('Hmac username="bob",algorithm="hmac-sha1",headers="date",signature="x"')?.username).toBe('bob');
    // Anywhere in the value, as Kong's unanchored regex.
    expect(parseHmacAuthorization('"hmac username="bob",algorithm="a",headers="h",signature="s"')?.signature).toBe('s');
  });
  test('refuses what Kong\'s regex does not match: missing or empty fields, a missing comma', () => {
    for (const h of ['asd', 'hmac username', 'hmac username="",  algorithm="a", headers="h", signature="s"', 'hmac algorithm="a", headers="h", signature="s"', 'hmac username="bob", algorithm="a" headers="h", signature="s"', undefined]) {
      expect(parseHmacAuthorization(h), String(h)).toBeNull();
    }
  });
  const req = (over: Partial<SigningRequest> = {}): SigningRequest => ({
    method: 'GET', uri: '/request?name=foo', httpVersion: '1.1', header: (n) => ({ date: 'Thu, 01 Dec 1994 16:00:00 GMT', 'content-md5': 'md5' } as Record<string, string>)[n], ...over,
  });
  test('the signing string: present headers as "name: value", request-line, @request-target, absent headers as "name:"', () => {
    expect(signingString(['date', 'content-md5', 'request-line'], req())).toBe('date: Thu, 01 Dec 1994 16:00:00 GMT\ncontent-md5: md5\nGET /request?name=foo HTTP/1.1');
    expect(signingString(['@request-target'], req({ method: 'POST' }))).toBe('@request-target: post /request?name=foo');
    expect(signingString(['request-line'], req({ httpVersion: '1.0' }))).toBe('GET /request?name=foo HTTP/1.0');
    expect(signingString(['x-missing', 'date'], req())).toBe('x-missing:\ndate: Thu, 01 Dec 1994 16:00:00 GMT');
  });
  test('HMAC of each algorithm, the body Digest, base64 as ngx.decode_base64', () => {
    for (const [alg, hash] of [['hmac-sha1', 'sha1'], ['hmac-sha256', 'sha256'], ['hmac-sha384', 'sha384'], ['hmac-sha512', 'sha512']] as const) {
      expect(hmacSign(alg, 'secret', 'date: x')).toEqual(createHmac(hash, 'secret').update('date: x').digest());
    }
    expect(bodyDigest(Buffer.from(''))).toBe('SHA-256=47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=');
    expect(decodeBase64('not really a base64 encoded value!!!')).toBeNull();
    expect(decodeBase64('c2lnbg==')?.toString()).toBe('sign');
  });
});

describe('hmac-auth Date parsing (ngx.parse_http_time)', () => {
  test('the three HTTP date forms', () => {
    const t = Date.UTC(1994, 10, 6, 8, 49, 37) / 1000;
    expect(parseHttpDate('Sun, 06 Nov 1994 08:49:37 GMT')).toBe(t);
    expect(parseHttpDate('Sunday, 06-Nov-94 08:49:37 GMT')).toBe(t);
    expect(parseHttpDate('Sun Nov  6 08:49:37 1994')).toBe(t);
    expect(parseHttpDate(new Date(t * 1000 + 5000).toUTCString())).toBe(t + 5);
  });
  test('anything else is no date: ISO 8601, words, out-of-range fields', () => {
    for (const s of ['1994-11-06T08:49:37Z', 'wrong date', '', 'Sun, 06 Foo 1994 08:49:37 GMT', 'Sun, 06 Nov 1994 25:49:37 GMT']) expect(parseHttpDate(s), s).toBeNull();
  });
});

describe('bot-detection rules', () => {
  test("Kong's fourteen default rules compile as JavaScript regular expressions", () => {
    expect(BOT_RULES).toHaveLength(14);
    for (const r of BOT_RULES) expect(() => new RegExp(r)).not.toThrow();
  });
  test('known bots match, browsers and plain clients do not', () => {
    const m = botMatcher([], []);
    for (const ua of ['Googlebot/2.1 (+http://www.google.com/bot.html)', 'facebookexternalhit/1.1', 'Twitterbot/1.0', 'aws-cli/2.1.0 Python/3.8', 'Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)', 'python-requests/2.0 Scrapy/1.0', 'axios/1.6.0', 'Go-http-client/1.1']) {
      expect(m(ua), ua).toBe(MATCH_BOT);
    }
    for (const ua of ['Mozilla/5.0 (Macintosh; Intel Mac OS X 10_11_5) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/50.0.2661.102 Safari/537.36', 'curl/7.43.0', 'HelloWorld']) {
      expect(m(ua), ua).toBe(MATCH_EMPTY);
    }
  });
  test('allow wins over deny and the rules; deny refuses what the rules let through; the agent is trimmed', () => {
    const m = botMatcher(['facebookexternalhit'], ['HelloWorld']);
    expect(m('facebookexternalhit/1.1')).toBe(MATCH_ALLOW);
    expect(m('  HelloWorld  ')).toBe(MATCH_DENY);
    expect([isRefused(MATCH_EMPTY), isRefused(MATCH_ALLOW), isRefused(MATCH_DENY), isRefused(MATCH_BOT)]).toEqual([false, false, true, true]);
  });
});
