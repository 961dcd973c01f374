// When a node tells the cluster its config_version and config_hash: its own writes within
// ANNOUNCE_MS, what it learned from others between ANNOUNCE_LAZY_MS and twice that (each node
// at its own moment), never more than one announcement pending, the state read when it goes out;
// the node's own member entry shows the state at once.
import pino from 'pino';
import { afterEach, beforeEach, expect, test, vi } from 'vitest';
import { Announcer, type AnnouncedState } from '../../src/sync/announce.ts';
import { ANNOUNCE_LAZY_MS, ANNOUNCE_MS } from '../../src/sync/timings.ts';

const log = pino({ level: 'silent' });
let state: AnnouncedState = { config_version: 1, config_hash: 'a' };
let sent: AnnouncedState[] = [];

function announcer(random: number): Announcer {
  return new Announcer(() => ({ setLocalState: (s) => sent.push(s) }), () => state, log, () => random);
}

beforeEach(() => {
  vi.useFakeTimers();
  state = { config_version: 1, config_hash: 'a' };
  sent = [];
});
afterEach(() => vi.useRealTimers());

test("a node's own write is announced within ANNOUNCE_MS, with the state of that moment", () => {
  const a = announcer(0.5);
  a.schedule('now');
  state = { config_version: 2, config_hash: 'b' };
  a.schedule('now');
  vi.advanceTimersByTime(ANNOUNCE_MS - 1);
  expect(sent).toEqual([]);
  vi.advanceTimersByTime(1);
  expect(sent).toEqual([{ config_version: 2, config_hash: 'b' }]);
});

test('what a node learned from others waits ANNOUNCE_LAZY_MS plus a random share of it', () => {
  const a = announcer(0.25);
  a.schedule('lazy');
  vi.advanceTimersByTime(ANNOUNCE_LAZY_MS * 1.25 - 1);
  expect(sent).toEqual([]);
  vi.advanceTimersByTime(1);
  expect(sent).toHaveLength(1);
  const b = announcer(0.999);
  b.schedule('lazy');
  vi.advanceTimersByTime(ANNOUNCE_LAZY_MS * 2 - 1);
  expect(sent).toHaveLength(2);
});

test('a write while a lazy announcement waits brings it forward; a lazy one never delays a pending write', () => {
  const a = announcer(0.5);
  a.schedule('lazy');
  vi.advanceTimersByTime(100);
  a.schedule('now');
  vi.advanceTimersByTime(ANNOUNCE_MS);
  expect(sent).toHaveLength(1);
  // Nothing else was pending: the lazy one was replaced, not kept beside it.
  vi.advanceTimersByTime(ANNOUNCE_LAZY_MS * 2);
  expect(sent).toHaveLength(1);

  a.schedule('now');
  a.schedule('lazy');
  vi.advanceTimersByTime(ANNOUNCE_MS);
  expect(sent).toHaveLength(2);
  vi.advanceTimersByTime(ANNOUNCE_LAZY_MS * 2);
  expect(sent).toHaveLength(2);
});

test('nothing is announced after stop', () => {
  const a = announcer(0);
  a.schedule('lazy');
  a.stop();
  vi.advanceTimersByTime(ANNOUNCE_LAZY_MS * 2);
  a.schedule('now');
  vi.advanceTimersByTime(ANNOUNCE_MS);
  expect(sent).toEqual([]);
});

test("the node's own entry shows the state at once; the cluster hears of it when the announcement goes out", () => {
  const noted: AnnouncedState[] = [];
  const a = new Announcer(() => ({ setLocalState: (s) => sent.push(s), noteLocalState: (s) => noted.push(s) }), () => state, log, () => 0.5);
  state = { config_version: 2, config_hash: 'b' };
  a.schedule('lazy');
  expect(noted).toEqual([{ config_version: 2, config_hash: 'b' }]);
  expect(sent).toEqual([]);
  vi.advanceTimersByTime(ANNOUNCE_LAZY_MS * 1.5);
  expect(sent).toEqual([{ config_version: 2, config_hash: 'b' }]);
});
