// The prober's verdict on a member that does not answer: suspected at the incarnation that was
// probed, unless the member announced itself (a higher incarnation) while the probe waited. The
// transport is a stand-in for a member that never answers; the prober, its table and its
// timing are the real ones.
import pino from 'pino';
import { expect, test } from 'vitest';
import { Awareness } from '../../src/cluster/awareness.ts';
import type { PingResult, ProbeTransport } from '../../src/cluster/probe.ts';
import { ProbeSet } from '../../src/cluster/probe-set.ts';
import { Prober } from '../../src/cluster/prober.ts';
import { defaultSettings } from '../../src/cluster/settings.ts';
import { MemberTable, type Member, type MemberInfo } from '../../src/cluster/state.ts';

const info = (id: string, incarnation = 0): MemberInfo => ({
  id,
  name: id,
  peer_id: `peer-${id}`,
  address: `${id}:7946`,
  addresses: [],
  role: 'traditional',
  version: 'test',
  config_version: 0,
  config_hash: null,
  incarnation,
});

/** A member that never answers a direct ping nor through helpers; `onPing` runs while the ping waits. */
function silentTransport(onPing: () => void): ProbeTransport {
  return {
    ping: (_peer, timeoutMs) =>
      new Promise<PingResult>((resolve) => {
        onPing();
        setTimeout(() => resolve({ ok: false, refused: false, error: 'timed out' }), timeoutMs);
      }),
    pingReq: async () => 'nack',
    pushPull: () => Promise.reject(new Error('not used')),
    sent: 0,
    received: 0,
    cold: { ping: 0, ping_req: 0, ping_req_target: 0, push_pull: 0 },
  };
}

function proberFor(table: MemberTable, transport: ProbeTransport, suspected: { id: string; incarnation: number }[]): Prober {
  return new Prober({
    table,
    awareness: new Awareness(defaultSettings.awareness_max_multiplier),
    probeSet: new ProbeSet(table.selfId, defaultSettings.probe_rings),
    settings: { ...defaultSettings, probe_timeout_ms: 20 },
    log: pino({ level: 'silent' }),
    transport: () => transport,
    running: () => true,
    leaving: () => false,
    syncWith: async () => true,
    suspect: async (m: Member) => {
      suspected.push({ id: m.id, incarnation: m.incarnation });
    },
  });
}

function tableWith(...ids: string[]): MemberTable {
  const table = new MemberTable('self');
  table.setSelf(info('self'), Date.now());
  for (const id of ids) table.alive(info(id, 3), Date.now(), true);
  return table;
}

test('a member that answers nothing is suspected at the incarnation that was probed', async () => {
  const table = tableWith('a', 'b', 'c');
  const suspected: { id: string; incarnation: number }[] = [];
  await proberFor(table, silentTransport(() => {}), suspected).probe(table.get('a')!, 'round');
  expect(suspected).toEqual([{ id: 'a', incarnation: 3 }]);
});

test('a member that announces a new incarnation while the probe waits is not suspected', async () => {
  const table = tableWith('a', 'b', 'c');
  const suspected: { id: string; incarnation: number }[] = [];
  // The refutation (or any new announcement) of `a` arrives during the direct ping.
  const transport = silentTransport(() => table.alive(info('a', 4), Date.now(), true));
  await proberFor(table, transport, suspected).probe(table.get('a')!, 'round');
  expect(suspected).toEqual([]);
  expect(table.get('a')!.status).toBe('alive');
});
