// `node --import tsx sim/bench/cpu-profile-summary.ts FILE.cpuprofile [--from S --to S] [--top N]`:
// where a V8 CPU profile (node --cpu-prof) spent its time, by package / source file and by
// function, self and inclusive, over a slice of the run: `--from`/`--to` are seconds from the
// profile's end (negative numbers), so start-up and shutdown can be left out of an idle window.
import fs from 'node:fs';

interface Node {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface Profile {
  nodes: Node[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

const args = process.argv.slice(2);
const opt = (name: string, def: number) => (args.includes(name) ? Number(args[args.indexOf(name) + 1]) : def);
const file = args[0];
if (!file) throw new Error('usage: cpu-profile-summary.ts FILE.cpuprofile [--from -32 --to -2] [--top 25]');
const p = JSON.parse(fs.readFileSync(file, 'utf8')) as Profile;
const TOP = opt('--top', 25);
const from = p.endTime + opt('--from', -1e9) * 1e6;
const to = p.endTime + opt('--to', 0) * 1e6;

/** A call frame's place: the npm package, or the source file under src/ or node: internals. */
function place(url: string): string {
  if (!url) return '(native)';
  const nm = url.lastIndexOf('node_modules/');
  if (nm >= 0) {
    const rest = url.slice(nm + 13).split('/');
    return rest[0]!.startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0]!;
  }
  const src = url.indexOf('/src/');
  if (src >= 0) return url.slice(src + 1);
  return url.startsWith('node:') ? url : url.split('/').slice(-2).join('/');
}

const byId = new Map(p.nodes.map((n) => [n.id, n]));
const parent = new Map<number, number>();
for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);

const selfUs = new Map<number, number>();
let t = p.startTime;
let total = 0;
for (let i = 0; i < p.samples.length; i++) {
  t += p.timeDeltas[i]!;
  if (t < from || t > to) continue;
  const dt = p.timeDeltas[i + 1] ?? 0;
  selfUs.set(p.samples[i]!, (selfUs.get(p.samples[i]!) ?? 0) + dt);
  total += dt;
}

const selfBy = new Map<string, number>();
const inclBy = new Map<string, number>();
const fnSelf = new Map<string, number>();
const fnIncl = new Map<string, number>();
/** By entry: the outermost frame of a package or src/ file (a timer callback, an async continuation). */
const entryBy = new Map<string, number>();
for (const [id, us] of selfUs) {
  const n = byId.get(id)!;
  const name = n.callFrame.functionName || '(anonymous)';
  const idle = name === '(idle)' || name === '(program)' || name === '(garbage collector)';
  const key = idle ? name : place(n.callFrame.url);
  selfBy.set(key, (selfBy.get(key) ?? 0) + us);
  const fkey = `${name} ${key}:${n.callFrame.lineNumber + 1}`;
  fnSelf.set(fkey, (fnSelf.get(fkey) ?? 0) + us);
  const stack: Node[] = [];
  for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) stack.push(byId.get(cur)!);
  const entry = stack.reverse().find((c) => c.callFrame.url && !c.callFrame.url.startsWith('node:'));
  const ekey = entry ? `${entry.callFrame.functionName || '(anonymous)'} ${place(entry.callFrame.url)}:${entry.callFrame.lineNumber + 1}` : idle ? name : '(node internals only)';
  entryBy.set(ekey, (entryBy.get(ekey) ?? 0) + us);
  // Inclusive: each place / function once per sample stack.
  const seenPlace = new Set<string>();
  const seenFn = new Set<string>();
  for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
    const c = byId.get(cur)!;
    const pl = place(c.callFrame.url);
    const fn = `${c.callFrame.functionName || '(anonymous)'} ${pl}:${c.callFrame.lineNumber + 1}`;
    if (!seenPlace.has(pl)) inclBy.set(pl, (inclBy.get(pl) ?? 0) + us), seenPlace.add(pl);
    if (!seenFn.has(fn)) fnIncl.set(fn, (fnIncl.get(fn) ?? 0) + us), seenFn.add(fn);
  }
}

const busy = total - (selfBy.get('(idle)') ?? 0);
const ms = (us: number) => `${(us / 1000).toFixed(0).padStart(7)} ms`;
const show = (title: string, m: Map<string, number>) => {
  console.log(`\n${title}`);
  for (const [k, v] of [...m].sort((a, b) => b[1] - a[1]).slice(0, TOP)) console.log(`${ms(v)} ${((100 * v) / busy).toFixed(1).padStart(5)} %  ${k}`);
};
console.log(`${file}: ${(total / 1e6).toFixed(1)} s of samples, busy ${(busy / 1e6).toFixed(2)} s (${((100 * busy) / total).toFixed(1)} % of a core)`);
show('self time by place', selfBy);
show('inclusive time by place', inclBy);
show('by entry (outermost package or source frame)', entryBy);
show('self time by function', fnSelf);
show('inclusive time by function', fnIncl);
