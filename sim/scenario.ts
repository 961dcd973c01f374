// Scenario files (sim/scenarios/*.yaml): the cluster, the load, the fault timeline and the
// bound of each invariant. Parsed with `yaml`, validated with zod so a typo names its key.
import fs from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { z } from 'zod';

const nodeRef = z.string().regex(/^n\d+$/, 'a node name like n1');

export const faultOps = [
  'kill', 'pause', 'resume', 'restart', 'stop', 'partition', 'heal',
  'db-down', 'db-up', 'isolate-db', 'restore-db', 'rolling-restart', 'cp-loss', 'cp-restore',
] as const;
export type FaultOp = (typeof faultOps)[number];

export const faultStep = z
  .object({
    at: z.number().min(0),
    op: z.enum(faultOps),
    node: nodeRef.optional(),
    groups: z.array(z.array(nodeRef).min(1)).min(2).optional(),
  })
  .strict()
  .superRefine((f, ctx) => {
    const needsNode = ['kill', 'pause', 'resume', 'restart', 'stop', 'isolate-db', 'restore-db'];
    if (needsNode.includes(f.op) && !f.node) ctx.addIssue({ code: 'custom', message: `${f.op} needs a node` });
    if (f.op === 'partition' && !f.groups) ctx.addIssue({ code: 'custom', message: 'partition needs groups' });
  });
export type FaultStep = z.infer<typeof faultStep>;

const bound = (ms: number) => z.object({ max_ms: z.number().positive().default(ms) }).strict();

export const invariantsSchema = z
  .object({
    availability: z
      .object({ min_success: z.number().min(0).max(1).default(0.99), max_error_burst_ms: z.number().positive().default(5000) })
      .strict()
      .optional(),
    detection: bound(3000).optional(),
    recovery: bound(3000).optional(),
    convergence: z
      .object({ max_ms: z.number().positive().default(1000), after_fault_ms: z.number().positive().optional() })
      .strict()
      .optional(),
    stale_reads: bound(3000).optional(),
    durability: z.object({}).strict().optional(),
    membership: z.object({}).strict().optional(),
    /** No node process may exit unless the nemesis stopped it (judged in every scenario). */
    crashes: z.object({}).strict().default({}),
    db_outage_writes: z.object({ catch_up_ms: z.number().positive().default(2000) }).strict().optional(),
  })
  .strict();
export type Invariants = z.infer<typeof invariantsSchema>;

const confValue = z.union([z.string(), z.number(), z.boolean()]);

export const scenarioSchema = z
  .object({
    name: z.string().min(1),
    description: z.string().default(''),
    nodes: z.number().int().min(1).max(64).default(3),
    /**
     * How the nodes are networked (the command line's --net wins): gater (default), netns, or
     * zones (namespaces grouped in zones with latency and loss between them; root, Linux).
     */
    net: z.enum(['gater', 'netns', 'zones']).optional(),
    /** `net: zones`: zone count, one-way delays (ms) inside and across zones, loss across zones (0..1). */
    zones: z
      .object({
        count: z.number().int().min(1).max(16).default(3),
        in_ms: z.number().min(0).default(0.2),
        cross_ms: z.number().min(0).default(20),
        jitter_ms: z.number().min(0).default(5),
        loss: z.number().min(0).lt(1).default(0),
      })
      .strict()
      .optional(),
    /** Hybrid mode: one control plane (Postgres, Admin API writes) and `nodes` data planes (traffic). */
    hybrid: z.boolean().default(false),
    duration: z.number().positive(),
    /** Seconds after the load stops, before the final checks, for the cluster to settle. */
    settle: z.number().min(0).default(3),
    load: z
      .object({
        rate: z.number().positive().default(50),
        writes_per_s: z.number().min(0).default(2),
        routes: z.number().int().min(1).default(4),
        /** Share of writes per entity: routes carry the convergence checks. */
        entities: z.array(z.enum(['routes', 'consumers', 'keyauth_credentials'])).default(['routes', 'routes', 'consumers', 'keyauth_credentials']),
      })
      .strict()
      .default({ rate: 50, writes_per_s: 2, routes: 4, entities: ['routes', 'routes', 'consumers', 'keyauth_credentials'] }),
    /** Extra config keys for every node (kong.conf names). */
    config: z.record(z.string(), confValue).default({}),
    /** Per-node extra config keys, e.g. to break an invariant on purpose. */
    node_config: z.record(nodeRef, z.record(z.string(), confValue)).default({}),
    faults: z.array(faultStep).default([]),
    /** Random faults from the seed instead of (or after) the timeline. */
    random_faults: z.boolean().default(false),
    invariants: invariantsSchema.default({ crashes: {} }),
    /** Set when the scenario needs something not built yet; `sim run` skips it and says why. */
    pending: z.string().optional(),
  })
  .strict();
export type Scenario = z.infer<typeof scenarioSchema>;

export function parseScenario(text: string, source = 'scenario'): Scenario {
  let raw: unknown;
  try {
    raw = parse(text);
  } catch (err) {
    throw new Error(`${source}: not valid YAML: ${(err as Error).message}`);
  }
  const r = scenarioSchema.safeParse(raw);
  if (!r.success) {
    const lines = r.error.issues.map((i) => `  ${i.path.join('.') || '(top)'}: ${i.message}`);
    throw new Error(`${source}: invalid scenario:\n${lines.join('\n')}`);
  }
  const s = r.data;
  for (const f of s.faults) {
    for (const n of [f.node, ...(f.groups ?? []).flat()]) {
      if (n && Number(n.slice(1)) > s.nodes) throw new Error(`${source}: fault at ${f.at}s names ${n} but the scenario has ${s.nodes} nodes`);
    }
    if (f.at > s.duration) throw new Error(`${source}: fault ${f.op} at ${f.at}s is after the end (${s.duration}s)`);
    if ((f.op === 'cp-loss' || f.op === 'cp-restore') && !s.hybrid) throw new Error(`${source}: fault ${f.op} at ${f.at}s needs a control plane: set hybrid: true`);
    if (s.hybrid && (f.op === 'isolate-db' || f.op === 'restore-db')) throw new Error(`${source}: fault ${f.op} at ${f.at}s is not supported in hybrid mode (data planes have no database; db-down takes it from the control plane)`);
  }
  return s;
}

export function loadScenario(file: string): Scenario {
  return parseScenario(fs.readFileSync(file, 'utf8'), path.basename(file));
}
