// `gossamer sim run FILE | fuzz`: the chaos simulator (sim/). Exit status 0 only when every
// invariant holds; 1 when one is violated; 2 when the run itself could not be carried out.
import { Command, Option } from 'commander';
import path from 'node:path';

function int(name: string) {
  return (v: string) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < 0) throw new Error(`--${name} must be a non-negative integer, got ${JSON.stringify(v)}`);
    return n;
  };
}

interface ExecOptions {
  seed?: number;
  nodes?: number;
  out?: string;
  duration?: number;
  quiet?: boolean;
  keep?: boolean;
  net?: 'gater' | 'netns' | 'zones';
  zones?: number;
  crossMs?: number;
  jitterMs?: number;
  loss?: number;
}

function num(name: string, max = Infinity) {
  return (v: string) => {
    const n = Number(v);
    if (!Number.isFinite(n) || n < 0 || n > max) throw new Error(`--${name} must be a number from 0 to ${max}, got ${JSON.stringify(v)}`);
    return n;
  };
}

async function execute(scenarioFile: string | undefined, opts: ExecOptions, fuzz: boolean): Promise<void> {
  const { loadScenario, scenarioSchema } = await import('../../sim/scenario.ts');
  const { runScenario } = await import('../../sim/run.ts');
  const scenario = fuzz
    ? scenarioSchema.parse({
        name: 'fuzz',
        description: `random faults from seed ${opts.seed} for ${opts.duration} s`,
        duration: opts.duration,
        random_faults: true,
        invariants: {
          availability: { min_success: 0.99, max_error_burst_ms: 5000 },
          detection: { max_ms: 3000 },
          recovery: { max_ms: 3000 },
          // After a restart or a resume, the same 3 s as the written scenarios (node-loss, hung-node, tour).
          convergence: { max_ms: 1000, after_fault_ms: 3000 },
          stale_reads: { max_ms: 3000 },
          durability: {},
          membership: {},
          db_outage_writes: { catch_up_ms: 2000 },
        },
      })
    : loadScenario(scenarioFile!);
  const seed = opts.seed ?? Math.floor(Math.random() * 2 ** 31);
  const outDir = opts.out ?? path.join('.gossamer', 'sim', `${scenario.name}-${seed}`);
  if (scenario.pending) {
    console.log(`${scenario.name}: pending, not run: ${scenario.pending}`);
    return;
  }
  const { simPgPlace } = await import('../../sim/harness/cluster.ts');
  const pgPlace = await simPgPlace(path.join(outDir, 'cluster'));
  console.error(`sim: ${scenario.name} with seed ${seed} (rerun with --seed ${seed} for the same faults); output in ${outDir}`);
  console.error(`sim: Postgres data in ${pgPlace.dataDir}${pgPlace.relocated ? ` (running as root, and the 'postgres' user Postgres runs as cannot reach ${outDir})` : ''}${opts.keep ? '' : ', removed after the run (--keep keeps it)'}`);
  const zones = { zones: opts.zones, crossMs: opts.crossMs, jitterMs: opts.jitterMs, loss: opts.loss };
  const r = await runScenario({ scenario, seed, nodes: opts.nodes, outDir, quiet: opts.quiet, keep: opts.keep, net: opts.net, zones });
  console.log(r.table);
  for (const n of r.notes) console.log(`note: ${n}`);
  console.log(`report: ${r.files.html}\n        ${r.files.json}`);
  process.exitCode = r.result.ok ? 0 : 1;
}

function netOption(): Option {
  return new Option('--net <mode>', "how nodes are networked and partitions cut: gater (the nodes refuse each other; default), netns (Linux, root: nodes in network namespaces, packets dropped) or zones (netns in zones with latency and loss between them); default: the scenario's net")
    .choices(['gater', 'netns', 'zones']);
}

/** `--net zones` settings; each overrides the scenario's `zones` block. */
function zoneOptions(cmd: Command): Command {
  return cmd
    .option('--zones <n>', '--net zones: number of zones (default 3)', int('zones'))
    .option('--cross-ms <ms>', '--net zones: one-way delay across zones (default 20)', num('cross-ms'))
    .option('--jitter-ms <ms>', '--net zones: ± jitter of that delay (default 5)', num('jitter-ms'))
    .option('--loss <p>', '--net zones: share of packets dropped across zones, 0..1 (default 0)', num('loss', 0.99));
}

export function simCommand(): Command {
  const cmd = new Command('sim').description('chaos simulator: real nodes under load and faults, invariants checked');
  const action = (fuzz: boolean) => async (...args: unknown[]) => {
    const file = fuzz ? undefined : (args[0] as string);
    const opts = (fuzz ? args[0] : args[1]) as Parameters<typeof execute>[1];
    try {
      await execute(file, opts, fuzz);
    } catch (err) {
      console.error(`Error: ${(err as Error).message}`);
      process.exitCode = 2;
    }
    // Timers of a crashed run must not keep the process alive; children are already reaped.
    setTimeout(() => process.exit(), 200).unref();
  };
  zoneOptions(cmd
    .command('run')
    .description('run a scenario file (sim/scenarios/*.yaml)')
    .argument('<file>', 'scenario YAML')
    .option('--seed <n>', 'seed for random choices (same seed, same fault schedule)', int('seed'))
    .option('--nodes <n>', 'number of nodes (default: the scenario\'s)', int('nodes'))
    .option('--out <dir>', 'where report.json, report.html and node logs go')
    .option('--quiet', 'no progress output')
    .option('--keep', 'keep Postgres data and node prefixes after the run')
    .addOption(netOption()))
    .action(action(false));
  zoneOptions(cmd
    .command('fuzz')
    .description('random faults from a seed for a duration, every invariant checked')
    .requiredOption('--seed <n>', 'seed of the fault schedule', int('seed'))
    .requiredOption('--duration <s>', 'seconds of load and faults', int('duration'))
    .option('--nodes <n>', 'number of nodes', int('nodes'), 3)
    .option('--out <dir>', 'output directory')
    .option('--quiet', 'no progress output')
    .option('--keep', 'keep Postgres data and node prefixes after the run')
    .addOption(netOption()))
    .action(action(true));
  cmd
    .command('compare')
    .description('did two runs (same seed) apply the same faults at the same times? compares their report.json')
    .argument('<first>', 'report.json of one run')
    .argument('<second>', 'report.json of the other')
    .option('--tolerance-ms <n>', 'how far from its planned time a fault may begin', int('tolerance-ms'), 1000)
    .action(async (first: string, second: string, opts: { toleranceMs: number }) => {
      try {
        const fs = await import('node:fs');
        const { appliedFaults, compareFaults } = await import('../../sim/nemesis/compare.ts');
        const read = (file: string) => {
          const saved = JSON.parse(fs.readFileSync(file, 'utf8')) as { history?: Parameters<typeof appliedFaults>[0] };
          if (!saved.history) throw new Error(`${file}: no history (not a simulator report.json)`);
          return appliedFaults(saved.history);
        };
        const [a, b] = [read(first), read(second)];
        const r = compareFaults(a, b, opts.toleranceMs);
        for (const [i, f] of a.entries()) {
          const g = b[i];
          console.log(`${String(f.at_s).padStart(6)}s  ${`${f.op} ${f.target}`.padEnd(24)} late ${String(f.late_ms).padStart(5)} ms${g ? ` | ${`${g.op} ${g.target}`.padEnd(24)} late ${String(g.late_ms).padStart(5)} ms` : ''}`);
        }
        for (const p of r.problems) console.log(`problem: ${p}`);
        console.log(r.same
          ? `same faults at the same times: ${r.compared} faults, each begun within ${r.worstLateMs} ms of its plan (tolerance ${opts.toleranceMs} ms)`
          : `the runs differ: ${r.problems.length} problem(s)`);
        process.exitCode = r.same ? 0 : 1;
      } catch (err) {
        console.error(`Error: ${(err as Error).message}`);
        process.exitCode = 2;
      }
    });
  cmd
    .command('check')
    .description('judge a saved report.json again (the checker reads only the recorded history)')
    .argument('<report>', 'report.json of an earlier run')
    .action(async (file: string) => {
      try {
        const fs = await import('node:fs');
        const { check, verdictTable } = await import('../../sim/checker/index.ts');
        const { scenarioSchema } = await import('../../sim/scenario.ts');
        const saved = JSON.parse(fs.readFileSync(file, 'utf8')) as { scenario: unknown; history: Parameters<typeof check>[0] };
        const scenario = scenarioSchema.parse(saved.scenario);
        const r = check(saved.history, scenario.invariants);
        console.log(verdictTable(r));
        process.exitCode = r.ok ? 0 : 1;
      } catch (err) {
        console.error(`Error: ${file}: ${(err as Error).message}`);
        process.exitCode = 2;
      }
    });
  return cmd;
}
