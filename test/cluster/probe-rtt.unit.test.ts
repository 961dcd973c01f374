// The direct probe's timeout (src/cluster/probe-rtt.ts): the configured one while answers are
// fast, stretched while every member answers slowly, never past Lifeguard's ceiling.
import { expect, test } from 'vitest';
import { ProbeRtt } from '../../src/cluster/probe-rtt.ts';

test('fast answers keep the configured timeout; none at all keep it too', () => {
  const r = new ProbeRtt(250, 2000);
  expect(r.timeout()).toBe(250);
  for (let i = 0; i < 50; i++) r.sample(1 + (i % 3));
  expect(r.timeout()).toBe(250);
});

test('slow answers from a saturated host stretch it past their round trip, capped at the ceiling', () => {
  const r = new ProbeRtt(250, 2000);
  for (let i = 0; i < 20; i++) r.sample(1);
  for (let i = 0; i < 8; i++) r.sample(i % 2 ? 400 : 150);
  const stretched = r.timeout();
  expect(stretched).toBeGreaterThan(400);
  expect(stretched).toBeLessThanOrEqual(2000);
  for (let i = 0; i < 10; i++) r.sample(60_000);
  expect(r.timeout()).toBe(2000);
});

test('once answers are fast again it comes back to the configured timeout within a few seconds of probes', () => {
  const r = new ProbeRtt(250, 2000);
  for (let i = 0; i < 10; i++) r.sample(1500);
  expect(r.timeout()).toBeGreaterThan(1000);
  let probes = 0;
  while (r.timeout() > 250 && probes < 1000) {
    r.sample(1);
    probes++;
  }
  // Four probes a second: back within ten seconds.
  expect(probes).toBeLessThan(40);
});

test('its stretch says how many times the configured timeout the answers take (what suspicions are given)', () => {
  const r = new ProbeRtt(250, 2000);
  expect(r.stretch()).toBe(1);
  for (let i = 0; i < 20; i++) r.sample(2);
  expect(r.stretch()).toBe(1);
  for (let i = 0; i < 20; i++) r.sample(900);
  expect(r.stretch()).toBeGreaterThan(3.6);
  expect(r.stretch()).toBe(r.timeout() / 250);
  for (let i = 0; i < 20; i++) r.sample(60_000);
  expect(r.stretch()).toBe(8);
});
