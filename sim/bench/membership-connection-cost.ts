// What one cluster connection costs in this process: open and close connections between two
// libp2p hosts built exactly as nodes build them (TCP on 127.0.0.1, pnet, noise, yamux,
// identify, gossipsub), one at a time, and report wall time and CPU per connection; then the
// same over @libp2p/memory with plaintext and no pnet, as the in-process simulation runs.
// The simulation's start-up and churn are bounded by this figure times the dials.
import '../../src/polyfill.ts';
import { generateKeyPair } from '@libp2p/crypto/keys';
import { createHost } from '../../src/cluster/host.ts';
import { pskFromSecret } from '../../src/cluster/index.ts';
import { Blocklist } from '../../src/cluster/partition.ts';

const N = Number(process.argv[2] ?? 50);
const psk = pskFromSecret('3c'.repeat(32));
const host = async (sim: string | null) =>
  (
    await createHost({
      memoryName: sim ?? undefined,
      plaintext: sim !== null,
      privateKey: await generateKeyPair('Ed25519'),
      listen: [{ host: '127.0.0.1', port: 0 }],
      advertise: null,
      psk,
      blocklist: new Blocklist([]),
      dialTimeoutMs: 10_000,
      gossipHeartbeatMs: 1000,
    })
  ).libp2p;

async function measure(label: string, sim: boolean): Promise<number> {
  const tag = Math.random().toString(36).slice(2, 8);
  const a = await host(sim ? `${tag}-a` : null);
  const b = await host(sim ? `${tag}-b` : null);
  const target = b.getMultiaddrs()[0]!;
  let wall = 0;
  const cpu0 = process.cpuUsage();
  for (let i = 0; i < N; i++) {
    const t0 = performance.now();
    const conn = await a.dial(target);
    await a.services.ping.ping(conn.remotePeer);
    wall += performance.now() - t0;
    await a.hangUp(conn.remotePeer);
  }
  const cpu = process.cpuUsage(cpu0);
  const cpuEach = (cpu.user + cpu.system) / 1000 / N;
  console.log(`${label}: ${N} connections (dial + first ping + close): ${(wall / N).toFixed(1)} ms wall each, ${cpuEach.toFixed(1)} ms CPU each (both ends, one process)`);
  await Promise.all([a.stop(), b.stop()]);
  return cpuEach;
}

// Interleaved, so the machine's load changes hit both alike.
const real: number[] = [];
const sim: number[] = [];
for (let round = 0; round < 2; round++) {
  real.push(await measure('TCP + pnet + noise (real nodes)', false));
  sim.push(await measure('memory + plaintext (simulation)', true));
}
const best = (xs: number[]) => Math.min(...xs);
console.log(`simulation / real CPU per connection: ${(best(sim) / best(real)).toFixed(2)}`);
process.exit(0);
