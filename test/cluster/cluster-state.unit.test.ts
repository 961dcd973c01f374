// The pure parts of membership: memberlist's precedence rules, Lifeguard's suspicion
// timeout, the private-network key format and the dial error wording.
import { expect, test } from 'vitest';
import { MemberTable, type MemberInfo } from '../../src/cluster/state.ts';
import { expectedConfirmations, suspicionMinTimeout, suspicionTimeout } from '../../src/cluster/suspicion.ts';
import { pskFromSecret } from '../../src/cluster/identity.ts';
import { describeDialError } from '../../src/cluster/dial-errors.ts';
import { formatMembersTable } from '../../src/cli/cluster.ts';

const info = (id: string, incarnation: number, extra: Partial<MemberInfo> = {}): MemberInfo => ({
  id,
  name: id,
  peer_id: `peer-${id}`,
  address: `127.0.0.1:${1000 + id.charCodeAt(0)}`,
  addresses: [],
  role: 'traditional',
  version: '0.1.0',
  config_version: 0,
  config_hash: null,
  incarnation,
  ...extra,
});

test('a higher incarnation wins; suspect and failed need at least the current one', () => {
  const t = new MemberTable('self');
  expect(t.alive(info('a', 1), 0, true)?.kind).toBe('joined');
  expect(t.suspect('a', 0, 1)).toBeNull(); // stale accusation
  expect(t.suspect('a', 1, 1)?.kind).toBe('suspect');
  expect(t.alive(info('a', 1), 2, true)).toBeNull(); // same incarnation cannot clear a suspicion
  expect(t.alive(info('a', 2), 2, true)?.kind).toBe('refuted');
  expect(t.failed('a', 1, 3)).toBeNull();
  expect(t.failed('a', 2, 3)?.kind).toBe('failed');
  expect(t.suspect('a', 2, 4)).toBeNull(); // failed is not downgraded to suspect
  const back = t.alive(info('a', 3, { config_version: 7 }), 5, true);
  expect(back).toMatchObject({ kind: 'rejoined', previous: 'failed' });
  expect(t.get('a')).toMatchObject({ status: 'alive', incarnation: 3, config_version: 7 });
  expect(t.left(info('a', 2), 6)).toBeNull();
  expect(t.left(info('a', 3), 6)?.kind).toBe('left');
  expect(t.find('peer-a')?.id).toBe('a');
  expect(t.find('a')?.status).toBe('left');
});

test("suspicion timeouts follow memberlist's formulas", () => {
  // memberlist DefaultLANConfig: SuspicionMult 4, ProbeInterval 1 s.
  expect(suspicionMinTimeout(4, 5, 1000)).toBe(4000);
  expect(suspicionMinTimeout(4, 100, 1000)).toBe(8000);
  expect(suspicionMinTimeout(4, 1000, 1000)).toBe(12000);
  expect(expectedConfirmations(4, 5)).toBe(2);
  expect(expectedConfirmations(4, 3)).toBe(1);
  expect(expectedConfirmations(4, 2)).toBe(0);
  const min = 2000;
  const max = 30000;
  expect(suspicionTimeout(0, 3, min, max)).toBe(max);
  expect(suspicionTimeout(1, 3, min, max)).toBe(16000);
  expect(suspicionTimeout(2, 3, min, max)).toBeLessThan(16000);
  expect(suspicionTimeout(3, 3, min, max)).toBe(min);
  expect(suspicionTimeout(9, 3, min, max)).toBe(min);
  expect(suspicionTimeout(0, 0, min, max)).toBe(min);
});

test('the cluster secret becomes a libp2p private-network key file', () => {
  const hex = 'ab'.repeat(32);
  expect(new TextDecoder().decode(pskFromSecret(hex))).toBe(`/key/swarm/psk/1.0.0/\n/base16/\n${hex}`);
  expect(() => pskFromSecret('xyz')).toThrow(/64 hexadecimal/);
});

test('dial failures are worded for an operator', () => {
  const enc = Object.assign(new Error('unexpected end of input'), { name: 'EncryptionFailedError' });
  expect(describeDialError(enc)).toBe('peer does not share the cluster key');
  expect(describeDialError(new AggregateError([Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' })]))).toBe('connection refused');
  expect(describeDialError(Object.assign(new Error('The operation was aborted due to timeout'), { name: 'TimeoutError' }))).toBe('timed out');
});

test('the members table has one line per member', () => {
  const now = Date.parse('2026-01-01T00:00:10Z');
  const out = formatMembersTable(
    [
      { id: '1', name: 'n1', peer_id: 'p1', address: '10.0.0.1:8005', addresses: [], role: 'traditional', status: 'alive', incarnation: 1, version: '0.1.0', config_version: 12, config_hash: 'abcdef0123456789', last_seen: '2026-01-01T00:00:10Z', self: true },
      { id: '2', name: 'n2', peer_id: 'p2', address: '10.0.0.2:8005', addresses: [], role: 'traditional', status: 'failed', incarnation: 3, version: '0.1.0', config_version: 11, config_hash: null, last_seen: '2026-01-01T00:00:05Z', self: false },
    ],
    now,
  );
  const lines = out.split('\n');
  expect(lines[0]).toMatch(/^NAME\s+ADDRESS\s+ROLE\s+STATUS\s+CONFIG_VERSION\s+CONFIG_HASH\s+LAST_SEEN$/);
  expect(lines[1]).toMatch(/^n1 \*\s+10\.0\.0\.1:8005\s+traditional\s+alive\s+12\s+abcdef012345\s+self$/);
  expect(lines[2]).toMatch(/^n2\s+10\.0\.0\.2:8005\s+traditional\s+failed\s+11\s+-\s+5s ago$/);
});
