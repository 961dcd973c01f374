// `npm run bench:dbless-cpu [-- --routes N --consumers N --rounds N]`: the CPU time of each step
// of a DB-less POST /config (bench:dbless's body, default 10,000 routes and 10,000 consumers with
// a key-auth key each), run in this one process, so the figures hold on a busy machine where
// bench:dbless's wall-clock times do not. Steps, in the order the node runs them: the body read
// as JSON, the declarative check and build (src/declarative/), the message to each proxy worker
// (v8 serialization once, then a message per worker holding the bytes, as src/proxy/workers.ts does), config_hash, the
// primary's entity store, the 201 body; then a worker's part: the message read back and the
// proxy runtime loaded (store, router, plugins). Printed: CPU ms per step (median of the
// rounds, this process's user + system time, GC included). Run it with the node's primary flags
// (`node --max-semi-space-size=4 --import tsx ...`) to see what the primary's small young
// generation costs.
import '../../src/polyfill.ts';
import v8 from 'node:v8';
import pino from 'pino';
import { snapshotFromDocument } from '../../src/declarative/build.ts';
import { configHash } from '../../src/cache/config-hash.ts';
import { EntityStore } from '../../src/cache/entity-store.ts';
import { ProxyRuntime } from '../../src/proxy/runtime.ts';
import { loadPluginHandlers } from '../../src/proxy/plugin-chain.ts';
import { LocalCounters } from '../../src/proxy/counters.ts';
import { dblessConfiguration } from './dbless-body.ts';
import { createdBody } from '../../src/admin/config-routes.ts';

const args = process.argv.slice(2);
const opt = (name: string, dflt: number) => (args.includes(`--${name}`) ? Number(args[args.indexOf(`--${name}`) + 1]) : dflt);
const ROUTES = opt('routes', 10_000);
const CONSUMERS = opt('consumers', ROUTES);
const ROUNDS = opt('rounds', 5);
const WORKERS = opt('workers', 2);

const cpuMs = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};
const times = new Map<string, number[]>();
function step<T>(name: string, f: () => T): T {
  const t0 = cpuMs();
  const out = f();
  const list = times.get(name) ?? [];
  list.push(cpuMs() - t0);
  times.set(name, list);
  return out;
}

await loadPluginHandlers();
const counters = new LocalCounters();
for (let round = 0; round < ROUNDS; round++) {
  const text = dblessConfiguration(ROUTES, CONSUMERS, 9, `r${round}`);
  const doc = step('body JSON.parse', () => JSON.parse(text) as Record<string, unknown>);
  const snap = step('declarative check + build', () => snapshotFromDocument(doc));
  const msg = { t: 'gossamer:snapshot', snapshot: { ...snap, config_version: round + 1 } };
  // As src/proxy/workers.ts sends it: serialized once, then one message per worker holding the bytes.
  const wire = step(`to the workers (serialized once, ${WORKERS} messages)`, () => {
    const bytes = v8.serialize(msg.snapshot);
    let b: Buffer | null = null;
    for (let i = 0; i < WORKERS; i++) b = v8.serialize({ t: msg.t, snapshot: { v8: bytes } });
    return b!;
  });
  step('config_hash', () => configHash(msg.snapshot));
  step('primary entity store', () => new EntityStore().load(msg.snapshot));
  step('201 body (JSON)', () => JSON.stringify(createdBody(msg.snapshot)).length);
  const got = step('worker: v8 deserialize', () => v8.deserialize((v8.deserialize(wire) as { snapshot: { v8: Buffer } }).snapshot.v8) as typeof msg.snapshot);
  const rt = new ProxyRuntime({ logger: pino({ level: 'silent' }), counters });
  step('worker: runtime load (store, router, plugins)', () => rt.loadSnapshot(got));
}
counters.close();

const median = (l: number[]) => [...l].sort((a, b) => a - b)[Math.floor(l.length / 2)]!;
let primary = 0;
let worker = 0;
process.stdout.write(`\nCPU ms per step of a DB-less POST /config, ${ROUTES} routes + ${CONSUMERS} consumers, median of ${ROUNDS} (node ${process.execArgv.filter((a) => a.startsWith('--max')).join(' ') || 'default flags'})\n\n`);
for (const [name, l] of times) {
  const m = median(l);
  if (name.startsWith('worker')) worker += m;
  else primary += m;
  process.stdout.write(`${m.toFixed(0).padStart(7)} ms  ${name}   (rounds: ${l.map((x) => x.toFixed(0)).join(', ')})\n`);
}
process.stdout.write(`${primary.toFixed(0).padStart(7)} ms  primary total\n${worker.toFixed(0).padStart(7)} ms  one worker total\n`);
// Timers of the runtime's parts (balancers, plugins) would keep this process alive.
process.exit(0);
