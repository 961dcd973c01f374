// The node's logger never writes a secret (issue #18, item 6): the fields log.ts redacts are
// replaced at any level, a URL keeps its path but not its query string (key-auth keys travel
// there), and what is not a secret passes unchanged. The real node's logs are searched end to
// end by test/cli/secrets-node.test.ts.
import { expect, test } from 'vitest';
import { createLogger } from '../../src/log.ts';

function capture() {
  const lines: string[] = [];
  const log = createLogger('n1', 'debug', { write: (s: string) => void lines.push(s) });
  return { log, text: () => lines.join('') };
}

test('secret fields are replaced at debug level too, and the rest is kept', () => {
  const { log, text } = capture();
  log.debug({ pg_password: 'pw-1', config: { ssl_cert_key: 'PEM-2', cluster_cert_key: 'PEM-3', cluster_secret: 'hex-4', pg_host: 'db.local' } }, 'config');
  log.info({ credential: { id: 'c1', password: 'hash-5' }, password: 'pw-6' }, 'credential');
  log.warn({ headers: { authorization: 'Basic c2VjcmV0', apikey: 'key-7', accept: '*/*' } }, 'headers');
  log.error({ err: { message: 'duplicate key', detail: 'Key (key)=(key-8) already exists.' } }, 'db');
  const out = text();
  for (const s of ['pw-1', 'PEM-2', 'PEM-3', 'hex-4', 'hash-5', 'pw-6', 'c2VjcmV0', 'key-7', 'key-8']) expect(out).not.toContain(s);
  expect(out).toContain('db.local');
  expect(out).toContain('*/*');
  expect(out).toContain('duplicate key');
  expect(out).toContain('"id":"c1"');
});

test('a logged URL keeps its path, not its query string', () => {
  const { log, text } = capture();
  log.error({ url: '/orders/7?apikey=key-9&x=1' }, 'request failed before proxying');
  log.error({ req: { url: '/plain/path' } }, 'other');
  expect(text()).not.toContain('key-9');
  expect(text()).toContain('"url":"/orders/7?******"');
  expect(text()).toContain('"url":"/plain/path"');
});
