// The measurements of bench:scale on one running cluster: convergence after the last start,
// failure detection of a SIGKILLed or SIGSTOPped node, a route change reaching every node's
// proxy, and `failed` marks over a window without faults (false failures).
import fs from 'node:fs';
import path from 'node:path';
import type { TraceLine } from '../../src/sync/trace.ts';
import { adminRequest } from '../harness/admin-call.ts';
import type { SimCluster } from '../harness/cluster.ts';
import type { SimNode } from '../harness/node-process.ts';
import { lastFirstMark, membersOf, readEvents, waitAll, waitEach } from './member-events.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polling the Admin API of 50 nodes every 100 ms would be load of its own: slower for big clusters. */
export function pollMs(n: number): number {
  return n <= 10 ? 100 : n <= 25 ? 250 : 500;
}

/** Date.now() when every up node first listed all `n` members alive (and none otherwise); NaN on timeout. */
export async function waitConverged(nodes: SimNode[], n: number, timeoutMs: number): Promise<number> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    const views = await Promise.all(nodes.map(membersOf));
    const now = Date.now();
    if (views.every((v) => v && v.filter((m) => m.status === 'alive').length === n)) return now;
    await sleep(pollMs(n));
  }
  return NaN;
}

export interface Trial {
  /** Fault → marked failed on the last survivor (from the survivors' own logs), NaN when missed. */
  ms: number;
  problem?: string;
  /** A route trial's route id (what the nodes' change traces name it by). */
  id?: string;
}

/**
 * SIGKILL (then restart) or SIGSTOP (then SIGCONT) `victim`; the time until every survivor has
 * logged it failed. The victim is back and alive everywhere before the next trial.
 */
export async function detectionTrial(cl: SimCluster, victim: SimNode, kind: 'SIGKILL' | 'SIGSTOP', timeoutMs = 30_000): Promise<Trial> {
  const others = cl.nodes.filter((n) => n !== victim && n.state === 'up');
  const poll = pollMs(cl.nodes.length);
  const t0 = Date.now();
  if (kind === 'SIGKILL') await victim.kill();
  else victim.pause();
  const missing = await waitEach(others, victim.name, 'failed', timeoutMs, poll);
  const ok = missing.length === 0;
  const ms = lastFirstMark(readEvents(others), others, victim.name, /^cluster: member failed$/, t0);
  let problem = ok && Number.isFinite(ms) ? undefined : `${kind} ${victim.name}: not failed on every survivor within ${timeoutMs / 1000} s${ok ? ' by their logs' : `: ${missing.map((m) => `${m.node} saw ${m.saw}`).join(', ')}`}`;
  if (kind === 'SIGKILL') await cl.startNode(victim.name);
  else victim.resume();
  if (!(await waitAll(others, victim.name, 'alive', timeoutMs, poll))) problem = `${problem ? `${problem}; ` : ''}${victim.name}: not alive everywhere again within ${timeoutMs / 1000} s`;
  return { ms: ok ? ms : NaN, ...(problem ? { problem } : {}) };
}

async function served(n: SimNode, path: string, until: number, everyMs: number): Promise<number> {
  while (Date.now() < until) {
    try {
      const r = await fetch(`${n.proxyUrl}${path}`, { signal: AbortSignal.timeout(2000) });
      await r.body?.cancel();
      if (r.status === 200) return Date.now();
    } catch {
      /* a busy node: ask again */
    }
    await sleep(everyMs);
  }
  return NaN;
}

/**
 * One request to every node's proxy before the route trials: the first probe of a node otherwise
 * opens this process's connection to it (across zones, a handshake over the 20 ms relay) and
 * counts that as propagation. A 404 is an answer: the connection is what is warmed.
 */
export async function warmProbes(nodes: SimNode[]): Promise<void> {
  await Promise.all(nodes.map((n) => fetch(`${n.proxyUrl}/gossamer-bench-warm`, { signal: AbortSignal.timeout(5000) }).then((r) => r.body?.cancel(), () => undefined)));
}

/** Create a route on `writer`: its id, or a missed trial with the problem (an answer other than 201, or none within 10 s on a saturated host). */
async function writeRoute(writer: SimNode, serviceId: string, name: string, path: string): Promise<string | Trial> {
  try {
    const r = await adminRequest(writer, 'POST', '/routes', { name, paths: [path], service: { id: serviceId } });
    if (r.status !== 201) return { ms: NaN, problem: `route write on ${writer.name} answered ${r.status}: ${JSON.stringify(r.body).slice(0, 200)}` };
    return (r.body as { id: string }).id;
  } catch (err) {
    return { ms: NaN, problem: `route write on ${writer.name}: ${(err as Error).message}` };
  }
}

/**
 * Create a route on `writer` (DB mode: its Admin API writes Postgres) and probe every node's
 * proxy until it serves it: acknowledged write → served by the last node.
 */
export async function routeTrial(cl: SimCluster, writer: SimNode, serviceId: string, i: number, timeoutMs = 15_000): Promise<Trial> {
  const path = `/scale-${Date.now().toString(36)}-${i}`;
  const id = await writeRoute(writer, serviceId, `scale-${i}-${Date.now()}`, path);
  if (typeof id !== 'string') return id;
  const t0 = Date.now();
  // 10 ms between probes of one node up to 10 nodes, 25 ms beyond: the probes are load too.
  const every = cl.nodes.length <= 10 ? 10 : 25;
  const times = await Promise.all(cl.nodes.map((n) => served(n, path, t0 + timeoutMs, every)));
  const missing = cl.nodes.filter((_, k) => !Number.isFinite(times[k]!)).map((n) => n.name);
  if (missing.length) return { ms: NaN, id, problem: `route ${path}: not served by ${missing.join(', ')} within ${timeoutMs / 1000} s` };
  return { ms: Math.max(...times) - t0, id };
}

/** Every trace line the nodes wrote so far (GOSSAMER_TRACE_CHANGES=traceDir). */
function readTraces(traceDir: string): TraceLine[] {
  const lines: TraceLine[] = [];
  for (const f of fs.readdirSync(traceDir)) {
    for (const l of fs.readFileSync(path.join(traceDir, f), 'utf8').split('\n')) {
      if (l.startsWith('{')) lines.push(JSON.parse(l) as TraceLine);
    }
  }
  return lines;
}

/** Commit → the last of `n` routers holding change `id`, from the traces; NaN with a problem while some router has not traced it. */
function tracedSpan(lines: TraceLine[], id: string | undefined, n: number): Trial {
  const of = lines.filter((l) => l.id === id);
  const commit = Math.min(...of.filter((l) => l.s === 'commit').map((l) => l.t));
  const routers = of.filter((l) => l.s === 'router').map((l) => l.t);
  if (!id || !Number.isFinite(commit) || routers.length < n) return { ms: NaN, id, problem: `route ${id ?? '?'}: ${routers.length} of ${n} routers traced` };
  return { ms: Math.max(...routers) - commit, id };
}

/**
 * A route change nobody probes: the write, then only the nodes' own traces are read (every
 * 250 ms) until each of the `n` routers holds it. The probed trials above ask every proxy every
 * 25 ms, a thousand requests a second at 25 nodes, on the same two cores the gossip needs.
 */
export async function quietRouteTrial(cl: SimCluster, writer: SimNode, serviceId: string, i: number, traceDir: string, timeoutMs = 15_000): Promise<Trial> {
  const id = await writeRoute(writer, serviceId, `scale-quiet-${i}-${Date.now()}`, `/scale-quiet-${Date.now().toString(36)}-${i}`);
  if (typeof id !== 'string') return id;
  const end = Date.now() + timeoutMs;
  for (;;) {
    // Each node writes its trace lines 250 ms after the change (src/sync/trace.ts).
    await new Promise((res) => setTimeout(res, 250));
    const t = tracedSpan(readTraces(traceDir), id, cl.nodes.length);
    if (Number.isFinite(t.ms) || Date.now() > end) return t;
  }
}

/**
 * The same route changes as the nodes traced them (GOSSAMER_TRACE_CHANGES=traceDir, src/sync/trace.ts):
 * from the commit on the writer to the last of `n` proxy workers' router holding the route: the
 * probes' own answer times left out, not their load (quietRouteTrial has none).
 */
export function tracedRouteTrials(traceDir: string, trials: Trial[], n: number): Trial[] {
  const lines = readTraces(traceDir);
  return trials.map((t) => tracedSpan(lines, t.id, n));
}

export interface SteadyResult {
  seconds: number;
  failed: { node: string; member: string; time: number }[];
  suspected: number;
}

/** No faults for `seconds`: every `failed` mark in the nodes' logs is a false failure. */
export async function steadyWindow(cl: SimCluster, seconds: number, progress: (line: string) => void): Promise<SteadyResult> {
  const t0 = Date.now();
  const end = t0 + seconds * 1000;
  const marks = () => readEvents(cl.nodes).filter((e) => e.time >= t0 && e.time <= end);
  while (Date.now() < end) {
    await sleep(Math.min(30_000, end - Date.now()));
    const m = marks();
    progress(`steady ${Math.round((Date.now() - t0) / 1000)}/${seconds} s: ${m.filter((e) => e.msg === 'cluster: member failed').length} failed marks, ${m.filter((e) => e.msg === 'cluster: member suspected').length} suspicions`);
  }
  const m = marks();
  return {
    seconds,
    failed: m.filter((e) => e.msg === 'cluster: member failed').map((e) => ({ node: e.node, member: e.member, time: e.time })),
    suspected: m.filter((e) => e.msg === 'cluster: member suspected').length,
  };
}
