// The checker judged on hand-written histories: each invariant passes on a good history and
// fails, naming the culprit, on a history that breaks it.
import { describe, expect, test } from 'vitest';
import { check } from '../../sim/checker/index.ts';
import type { History, HistoryEvent, MemberView } from '../../sim/history.ts';
import type { Invariants } from '../../sim/scenario.ts';

const NODES = ['n1', 'n2', 'n3'];

function hist(events: HistoryEvent[]): History {
  const start: HistoryEvent[] = NODES.map((node) => ({ kind: 'node', t: 0, node, state: 'up' }));
  return { scenario: 'test', seed: 1, startedAt: '2026-01-01T00:00:00Z', nodes: NODES, events: [...start, ...events] };
}

const req = (t: number, status = 200): HistoryEvent => ({ kind: 'request', t, latency: 5, path: '/base0', status });
const view = (statuses: Record<string, string>, v = 1): MemberView[] =>
  Object.entries(statuses).map(([name, status]) => ({ name, status, config_version: v }));
const members = (t: number, node: string, statuses: Record<string, string>, v = 1): HistoryEvent => ({
  kind: 'members', t, node, ok: true, config_version: v, members: view(statuses, v),
});
const allAlive = { n1: 'alive', n2: 'alive', n3: 'alive' };

function only(inv: Partial<Invariants>, h: History) {
  const r = check(h, inv);
  expect(r.verdicts).toHaveLength(1);
  return r.verdicts[0]!;
}

describe('availability', () => {
  const inv: Partial<Invariants> = { availability: { min_success: 0.99, max_error_burst_ms: 500 } };
  test('passes when nearly every request succeeds in short bursts', () => {
    const events = Array.from({ length: 200 }, (_, i) => req(i * 10, i === 50 ? 502 : 200));
    const v = only(inv, hist(events));
    expect(v.ok).toBe(true);
    expect(v.judged).toBe(200);
  });
  test('fails on a low success ratio', () => {
    const events = Array.from({ length: 100 }, (_, i) => req(i * 10, i % 10 === 0 ? 503 : 200));
    const v = only(inv, hist(events));
    expect(v.ok).toBe(false);
    expect(v.failures.join()).toMatch(/success 90\.000%/);
  });
  test('fails on a long error burst even when the ratio holds', () => {
    const events = Array.from({ length: 2000 }, (_, i) => req(i * 10, i >= 100 && i < 160 ? 0 : 200));
    const v = only(inv, hist(events));
    expect(v.ok).toBe(false);
    expect(v.failures.join()).toMatch(/error burst of 600 ms starting at 1000 ms/);
  });
});

describe('detection and recovery', () => {
  const inv: Partial<Invariants> = { detection: { max_ms: 2000 } };
  const kill = (t: number): HistoryEvent[] => [
    { kind: 'fault', t, op: 'kill', node: 'n3' },
    { kind: 'node', t, node: 'n3', state: 'down' },
  ];
  test('passes when every live member shows the killed node failed in time', () => {
    const v = only(inv, hist([
      ...kill(1000),
      members(1500, 'n1', { ...allAlive, n3: 'suspect' }),
      members(2200, 'n1', { ...allAlive, n3: 'failed' }),
      members(2400, 'n2', { ...allAlive, n3: 'failed' }),
    ]));
    expect(v.ok).toBe(true);
    expect(v.measured).toBe('worst 1400 ms');
  });
  test('fails when one member is late', () => {
    const v = only(inv, hist([
      ...kill(1000),
      members(2200, 'n1', { ...allAlive, n3: 'failed' }),
      members(2500, 'n2', { ...allAlive, n3: 'alive' }),
      members(3500, 'n2', { ...allAlive, n3: 'failed' }),
    ]));
    expect(v.ok).toBe(false);
    expect(v.failures[0]).toMatch(/kill n3 .*2500 ms/);
  });
  test('fails when a member never notices', () => {
    const v = only(inv, hist([...kill(1000), members(2200, 'n1', { ...allAlive, n3: 'failed' }), members(5000, 'n2', allAlive)]));
    expect(v.ok).toBe(false);
    expect(v.failures[0]).toMatch(/never shown failed by n2/);
  });
  test('recovery: passes when the resumed node is alive everywhere in time, fails when not', () => {
    const base: HistoryEvent[] = [
      { kind: 'fault', t: 1000, op: 'pause', node: 'n3' },
      { kind: 'node', t: 1000, node: 'n3', state: 'paused' },
      { kind: 'fault', t: 5000, op: 'resume', node: 'n3' },
      { kind: 'node', t: 5000, node: 'n3', state: 'up' },
      members(5600, 'n1', allAlive),
    ];
    const good = only({ recovery: { max_ms: 2000 } }, hist([...base, members(5800, 'n2', allAlive), req(9000)]));
    expect(good.ok).toBe(true);
    expect(good.measured).toBe('worst 800 ms');
    const bad = only({ recovery: { max_ms: 2000 } }, hist([...base, members(5800, 'n2', { ...allAlive, n3: 'failed' }), members(7500, 'n2', allAlive), req(9000)]));
    expect(bad.ok).toBe(false);
    expect(bad.failures[0]).toMatch(/resume n3 .*after 2500 ms/);
  });
});

describe('convergence and stale reads', () => {
  const write = (seq: number, t: number, op: 'create' | 'delete', status = 201, node = 'n1'): HistoryEvent => ({
    kind: 'write', t, latency: 10, seq, node, op, entity: 'routes', key: 'sim-r1', status,
    expect: { '/sim/r1/': op === 'delete' ? 404 : 200 },
  });
  const probe = (t: number, node: string, seq: number, status: number, expected = 200): HistoryEvent => ({ kind: 'probe', t, node, seq, path: '/sim/r1/', expected, status });

  test('passes when every node serves the write within the bound', () => {
    const v = only({ convergence: { max_ms: 1000 } }, hist([
      write(1, 1000, 'create'),
      probe(1050, 'n1', 1, 200), probe(1050, 'n2', 1, 404), probe(1150, 'n2', 1, 200), probe(1050, 'n3', 1, 200),
      req(4000),
    ]));
    expect(v.ok).toBe(true);
    expect(v.judged).toBe(3);
  });
  test('fails when one node serves the old config past the bound (a node without gossip or polling)', () => {
    const late = Array.from({ length: 20 }, (_, i) => probe(1050 + i * 100, 'n3', 1, 404));
    const v = only({ convergence: { max_ms: 1000 } }, hist([
      write(1, 1000, 'create'), probe(1050, 'n1', 1, 200), probe(1050, 'n2', 1, 200), ...late, req(4000),
    ]));
    expect(v.ok).toBe(false);
    expect(v.failures[0]).toMatch(/never served by n3/);
    const stale = only({ stale_reads: { max_ms: 1500 } }, hist([
      write(1, 1000, 'create'), probe(1050, 'n1', 1, 200), probe(1050, 'n2', 1, 200), ...late, req(4000),
    ]));
    expect(stale.ok).toBe(false);
    expect(stale.failures[0]).toMatch(/n3 answered 404 for \/sim\/r1\//);
  });
  test('a node cut off by a partition is judged from the heal, not from the write', () => {
    const events: HistoryEvent[] = [
      { kind: 'fault', t: 500, op: 'partition', groups: [['n1', 'n2'], ['n3']] },
      write(1, 1000, 'create'),
      probe(1050, 'n1', 1, 200), probe(1050, 'n2', 1, 200),
      probe(1100, 'n3', 1, 404), probe(3000, 'n3', 1, 404),
      { kind: 'fault', t: 4000, op: 'heal' },
      probe(4300, 'n3', 1, 200),
      req(6000),
    ];
    const v = only({ convergence: { max_ms: 1000 } }, hist(events));
    expect(v.ok).toBe(true);
    expect(v.measured).toMatch(/after a fault 300 ms/);
    const s = only({ stale_reads: { max_ms: 1000 } }, hist(events));
    expect(s.ok).toBe(true);
    // Served 1.5 s after the heal: too slow for 1 s, fine for a separate after-fault bound of 2 s.
    const slow = events.map((e) => (e.kind === 'probe' && e.t === 4300 ? { ...e, t: 5500 } : e));
    const strict = only({ convergence: { max_ms: 1000 } }, hist(slow));
    expect(strict.ok).toBe(false);
    expect(strict.failures[0]).toMatch(/served by n3 1500 ms after contact came back/);
    expect(only({ convergence: { max_ms: 1000, after_fault_ms: 2000 } }, hist(slow)).ok).toBe(true);
  });
  test('a node killed before it could serve the write is judged from its restart', () => {
    const events: HistoryEvent[] = [
      write(1, 1000, 'create'),
      probe(1050, 'n1', 1, 200), probe(1050, 'n2', 1, 200), probe(1050, 'n3', 1, 404),
      { kind: 'fault', t: 1200, op: 'kill', node: 'n3' }, { kind: 'node', t: 1200, node: 'n3', state: 'down' },
      { kind: 'node', t: 6000, node: 'n3', state: 'up' },
      probe(6100, 'n3', 1, 200),
      req(9000),
    ];
    const v = only({ convergence: { max_ms: 1000 } }, hist(events));
    expect(v.ok).toBe(true);
    expect(v.judged).toBe(3);
    const never = only({ convergence: { max_ms: 1000 } }, hist(events.map((e) => (e.kind === 'probe' && e.t === 6100 ? { ...e, status: 404 } : e))));
    expect(never.ok).toBe(false);
    expect(never.failures[0]).toMatch(/never served by n3/);
  });
  test('a node whose proxy gives no answer is judged from its first answer; one that never answers is not excused', () => {
    const silentThen = (answers: HistoryEvent[]): HistoryEvent[] => [
      write(1, 1000, 'create'), probe(1050, 'n1', 1, 200), probe(1050, 'n2', 1, 200),
      probe(1050, 'n3', 1, 0), probe(2100, 'n3', 1, 0), probe(3200, 'n3', 1, 0), ...answers, req(9000),
    ];
    const served = only({ convergence: { max_ms: 1000 } }, hist(silentThen([probe(4300, 'n3', 1, 200)])));
    expect(served.ok).toBe(true);
    expect(served.measured).toMatch(/1 clocks started at the node's first answer \(silent up to 3290 ms\)/);
    // Stale once it answers: the clock runs from that first answer.
    const stale = only({ convergence: { max_ms: 1000 } }, hist(silentThen([probe(4300, 'n3', 1, 404), probe(5800, 'n3', 1, 200)])));
    expect(stale.ok).toBe(false);
    expect(stale.failures[0]).toMatch(/served by n3 1500 ms after the ack/);
    const never = only({ convergence: { max_ms: 1000 } }, hist(silentThen([probe(4300, 'n3', 1, 0), probe(7000, 'n3', 1, 0)])));
    expect(never.ok).toBe(false);
    expect(never.failures[0]).toMatch(/never served by n3/);
  });
  test('a deleted route still served after the bound is a stale read', () => {
    const v = only({ stale_reads: { max_ms: 1000 } }, hist([
      write(1, 100, 'create'), probe(150, 'n1', 1, 200), probe(150, 'n2', 1, 200), probe(150, 'n3', 1, 200),
      write(2, 1000, 'delete', 204), probe(1050, 'n1', 2, 404, 404), probe(1050, 'n2', 2, 404, 404), probe(2500, 'n3', 2, 200, 404),
      req(4000),
    ]));
    expect(v.ok).toBe(false);
    expect(v.failures[0]).toMatch(/n3 answered 200 .* \(want 404\)/);
  });
  test('a probe answered only after a later write to the same route is not judged stale (a thawed node answering late)', () => {
    // Seen in `sim fuzz --seed 42`: the probe left before the delete, the frozen node answered after it.
    const events = (answered: number): HistoryEvent[] => [
      write(1, 100, 'create'), probe(150, 'n1', 1, 200), probe(150, 'n2', 1, 200), probe(150, 'n3', 1, 200),
      { ...(probe(2500, 'n3', 1, 404) as Extract<HistoryEvent, { kind: 'probe' }>), answered },
      write(2, 3000, 'delete', 204), probe(3050, 'n1', 2, 404, 404), probe(3050, 'n2', 2, 404, 404), probe(3600, 'n3', 2, 404, 404),
      req(6000),
    ];
    expect(only({ stale_reads: { max_ms: 1000 } }, hist(events(3400))).ok).toBe(true);
    const early = only({ stale_reads: { max_ms: 1000 } }, hist(events(2600)));
    expect(early.ok).toBe(false);
    expect(early.failures[0]).toMatch(/n3 answered 404 for \/sim\/r1\/ at 2500 ms/);
  });
});

describe('durability', () => {
  const w = (seq: number, op: 'create' | 'update' | 'delete', status: number, key = 'sim-c1'): HistoryEvent => ({
    kind: 'write', t: seq * 100, latency: 5, seq, node: 'n2', op, entity: 'consumers', key, status,
  });
  const db = (key: string, present: boolean): HistoryEvent => ({ kind: 'final-db', t: 9000, entity: 'consumers', key, present });
  test('passes when acked creates exist and acked deletes are gone', () => {
    const v = only({ durability: {} }, hist([w(1, 'create', 201), w(2, 'create', 201, 'sim-c2'), w(3, 'delete', 204, 'sim-c2'), w(4, 'create', 503, 'sim-c3'), db('sim-c1', true), db('sim-c2', false)]));
    expect(v.ok).toBe(true);
    expect(v.judged).toBe(2);
  });
  test('fails when an acknowledged write is lost or a deleted entity comes back', () => {
    const v = only({ durability: {} }, hist([w(1, 'create', 201), w(2, 'create', 201, 'sim-c2'), w(3, 'delete', 204, 'sim-c2'), db('sim-c1', false), db('sim-c2', true)]));
    expect(v.ok).toBe(false);
    expect(v.failures).toEqual([
      'consumers/sim-c1: acknowledged create (write #1 on n2) is missing from Postgres',
      'consumers/sim-c2: acknowledged delete (write #3 on n2) but still in Postgres',
    ]);
  });
  test('a write without an answer makes its entity unjudgeable rather than lost', () => {
    const v = only({ durability: {} }, hist([w(1, 'create', 201), w(2, 'delete', 0), db('sim-c1', true)]));
    expect(v.ok).toBe(true);
    expect(v.skipped).toBe(1);
  });
  test('fails when a node serves a route differently from the final state', () => {
    const route: HistoryEvent = { kind: 'write', t: 100, latency: 5, seq: 1, node: 'n1', op: 'create', entity: 'routes', key: 'sim-r1', status: 201, expect: { '/sim/r1/': 200 } };
    const v = only({ durability: {} }, hist([
      route,
      { kind: 'final-db', t: 9000, entity: 'routes', key: 'sim-r1', present: true },
      { kind: 'final-probe', t: 9000, node: 'n1', path: '/sim/r1/', status: 200 },
      { kind: 'final-probe', t: 9000, node: 'n2', path: '/sim/r1/', status: 404 },
    ]));
    expect(v.ok).toBe(false);
    expect(v.failures[0]).toMatch(/n2 answers 404 for \/sim\/r1\//);
  });
});

describe('membership truth and db outage', () => {
  test('membership passes when views match reality and fails on a dead node shown alive', () => {
    const down: HistoryEvent[] = [{ kind: 'fault', t: 100, op: 'kill', node: 'n3' }, { kind: 'node', t: 100, node: 'n3', state: 'down' }];
    const good = only({ membership: {} }, hist([...down, members(5000, 'n1', { ...allAlive, n3: 'failed' }), members(5000, 'n2', { ...allAlive, n3: 'left' })]));
    expect(good.ok).toBe(true);
    const bad = only({ membership: {} }, hist([...down, members(5000, 'n1', { ...allAlive, n3: 'failed' }), members(5000, 'n2', allAlive)]));
    expect(bad.ok).toBe(false);
    expect(bad.failures).toEqual(['n2 shows n3 as alive, want failed|left']);
    const split = only({ membership: {} }, hist([members(5000, 'n1', allAlive, 7), members(5000, 'n2', allAlive, 7), members(5000, 'n3', allAlive, 6)]));
    expect(split.ok).toBe(false);
    expect(split.failures[0]).toMatch(/config_version differs: n1=7, n2=7, n3=6/);
  });
  test('db outage: writes must answer 503 while Postgres is down and succeed soon after', () => {
    const wr = (seq: number, t: number, status: number): HistoryEvent => ({ kind: 'write', t, latency: 20, seq, node: 'n1', op: 'create', entity: 'consumers', key: `c${seq}`, status });
    const base: HistoryEvent[] = [{ kind: 'fault', t: 1000, op: 'db-down' }, { kind: 'fault', t: 5000, op: 'db-up' }];
    const good = only({ db_outage_writes: { catch_up_ms: 1000 } }, hist([...base, wr(1, 2000, 503), wr(2, 3000, 503), wr(3, 5400, 201)]));
    expect(good.ok).toBe(true);
    const bad = only({ db_outage_writes: { catch_up_ms: 1000 } }, hist([...base, wr(1, 2000, 500), wr(2, 3000, 0), wr(3, 5400, 503), wr(4, 6500, 201)]));
    expect(bad.ok).toBe(false);
    expect(bad.failures.join('\n')).toMatch(/#1 .*answered 500[\s\S]*#2 .*answered nothing[\s\S]*1520 ms after Postgres came back/);
  });
});

test('check() is ok only when every invariant holds', () => {
  const h = hist([req(10), req(20, 502), members(100, 'n1', allAlive), members(100, 'n2', allAlive), members(100, 'n3', allAlive)]);
  expect(check(h, { membership: {} }).ok).toBe(true);
  expect(check(h, { membership: {}, availability: { min_success: 0.9, max_error_burst_ms: 1000 } }).ok).toBe(false);
});

test('a node that exits on its own is a crash; one the nemesis killed is not', () => {
  const killed: HistoryEvent[] = [{ kind: 'fault', t: 100, op: 'kill', node: 'n2' }, { kind: 'node', t: 100, node: 'n2', state: 'down' }];
  expect(only({ crashes: {} }, hist(killed)).ok).toBe(true);
  const v = only({ crashes: {} }, hist([{ kind: 'node', t: 4200, node: 'n3', state: 'down', crashed: 'exit code 1' }]));
  expect(v.ok).toBe(false);
  expect(v.failures).toEqual(['n3 exited on its own at 4200 ms (exit code 1); see its node.log']);
});

test('a pause resumed in the same millisecond is not judged as a detection', () => {
  const v = only({ detection: { max_ms: 2000 } }, hist([
    { kind: 'fault', t: 1000, op: 'pause', node: 'n2' }, { kind: 'node', t: 1000, node: 'n2', state: 'paused' },
    { kind: 'fault', t: 1000, op: 'resume', node: 'n2' }, { kind: 'node', t: 1000, node: 'n2', state: 'up' },
    members(1500, 'n1', allAlive), members(1500, 'n3', allAlive),
    { kind: 'node', t: 9000, node: 'n2', state: 'stopping' }, members(9500, 'n1', { ...allAlive, n2: 'left' }), req(9600),
  ]));
  expect(v.ok).toBe(true);
  expect(v.skipped).toBe(1);
});

describe('hybrid mode: the control plane lost and restored', () => {
  // Data planes n1-n3 serve traffic; writes go to the control plane `cp`.
  const cpWrite = (seq: number, t: number): HistoryEvent => ({
    kind: 'write', t, latency: 10, seq, node: 'cp', op: 'create', entity: 'routes', key: `sim-r${seq}`, status: 201, expect: { [`/sim/r${seq}/`]: 200 },
  });
  const probe = (t: number, node: string, seq: number, status: number): HistoryEvent => ({ kind: 'probe', t, node, seq, path: `/sim/r${seq}/`, expected: 200, status });
  const withCp = { n1: 'alive', n2: 'alive', n3: 'alive', cp: 'alive' };
  const cpFailed = { ...withCp, cp: 'failed' };
  const outage = (served: number): HistoryEvent[] => [
    { kind: 'node', t: 0, node: 'cp', state: 'up' },
    cpWrite(1, 1000), ...NODES.map((n) => probe(1100, n, 1, 200)),
    { kind: 'fault', t: 2000, op: 'cp-loss', node: 'cp' }, { kind: 'node', t: 2000, node: 'cp', state: 'down' },
    ...NODES.map((n) => members(3500, n, cpFailed)),
    { kind: 'fault', t: 8000, op: 'cp-restore', node: 'cp' }, { kind: 'node', t: 8000, node: 'cp', state: 'starting' },
    { kind: 'node', t: 12_000, node: 'cp', state: 'up' },
    ...NODES.map((n) => members(13_000, n, withCp)),
    // The first write after the control plane is back: the data planes reconnect on their own clock.
    cpWrite(2, 12_100), ...NODES.map((n) => probe(12_200, n, 2, 404)), ...NODES.map((n) => probe(served, n, 2, 200)),
    req(20_000),
  ];
  const hybrid = (events: HistoryEvent[]): History => ({ ...hist(events), control_planes: ['cp'] });

  test('data planes see the control plane fail and return; its writes after the restore are judged as after a fault', () => {
    const inv: Partial<Invariants> = { detection: { max_ms: 2000 }, recovery: { max_ms: 2000 }, convergence: { max_ms: 1000, after_fault_ms: 6000 } };
    const r = check(hybrid(outage(15_000)), inv);
    expect(r.verdicts.map((v) => [v.invariant, v.ok, v.judged])).toEqual([['detection', true, 1], ['recovery', true, 1], ['convergence', true, 6]]);
    expect(r.verdicts[2]!.measured).toMatch(/after a fault 2890 ms/);
  });

  test('fails when the data planes never serve a write made after the restore, or serve it too late', () => {
    const never = only({ convergence: { max_ms: 1000, after_fault_ms: 6000 } }, hybrid(outage(12_200).filter((e) => !(e.kind === 'probe' && e.seq === 2 && e.status === 200))));
    expect(never.ok).toBe(false);
    expect(never.failures).toHaveLength(3);
    expect(never.failures[0]).toMatch(/create sim-r2 \(write #2 on cp at 12\.1 s\): never served by n1/);
    const late = only({ convergence: { max_ms: 1000, after_fault_ms: 2000 } }, hybrid(outage(15_000)));
    expect(late.ok).toBe(false);
    expect(late.failures[0]).toMatch(/served by n1 2890 ms after contact came back/);
    // Without a restore the same lag is judged against the plain bound.
    const plain = outage(15_000).filter((e) => !(e.kind === 'fault' && e.op === 'cp-restore'));
    expect(only({ convergence: { max_ms: 1000, after_fault_ms: 6000 } }, hybrid(plain)).ok).toBe(false);
  });

  test('a data plane that never shows the control plane failed fails detection', () => {
    const h = hybrid(outage(15_000).map((e) => (e.kind === 'members' && e.node === 'n2' && e.t === 3500 ? members(3500, 'n2', withCp) : e)));
    const v = only({ detection: { max_ms: 2000 } }, h);
    expect(v.ok).toBe(false);
    expect(v.failures[0]).toMatch(/cp-loss cp at 2000 ms: never shown failed by n2/);
  });
});

test('cp-loss and cp-restore need a hybrid scenario; hybrid scenarios refuse cutting a data plane from a database it does not have', async () => {
  const { parseScenario } = await import('../../sim/scenario.ts');
  expect(() => parseScenario('name: x\nduration: 10\nfaults:\n  - { at: 1, op: cp-loss }\n', 'x.yaml')).toThrow(/cp-loss at 1s needs a control plane: set hybrid: true/);
  expect(() => parseScenario('name: x\nduration: 10\nhybrid: true\nfaults:\n  - { at: 1, op: isolate-db, node: n1 }\n', 'x.yaml')).toThrow(/isolate-db at 1s is not supported in hybrid mode/);
  expect(parseScenario('name: x\nduration: 10\nhybrid: true\nfaults:\n  - { at: 1, op: cp-loss }\n', 'x.yaml').hybrid).toBe(true);
});
