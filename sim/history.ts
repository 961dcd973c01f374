// The simulator's record of what happened, in the order it was observed. Everything the
// checker judges comes from here and nothing else: the checker is a pure function of a
// History, so a saved report.json can be re-judged and hand-written histories can test it.

/** Milliseconds since the run started (monotonic clock). */
export type Ms = number;

/** A request through the load balancer. `status` 0 means no HTTP answer (refused, timeout). */
export interface RequestEvent {
  kind: 'request';
  t: Ms;
  latency: Ms;
  path: string;
  status: number;
  error?: string;
  /** The node that answered, when the balancer says so. */
  node?: string;
}

export type WriteOp = 'create' | 'update' | 'delete';
export type WriteEntity = 'routes' | 'consumers' | 'keyauth_credentials';

/**
 * An Admin API write. `key` names the entity across its life (route/consumer name, credential
 * key); `expect` is what a node's proxy must answer after a route write: path → status.
 */
export interface WriteEvent {
  kind: 'write';
  t: Ms;
  latency: Ms;
  seq: number;
  node: string;
  op: WriteOp;
  entity: WriteEntity;
  key: string;
  status: number;
  error?: string;
  expect?: Record<string, number>;
}

/** A direct request to one node's proxy checking a route write's effect. */
export interface ProbeEvent {
  kind: 'probe';
  t: Ms;
  node: string;
  seq: number;
  path: string;
  expected: number;
  status: number;
  /** When the answer came back: a node that was busy (just thawed, just restarted) may answer after a later write changed what is expected. */
  answered?: Ms;
}

export interface MemberView {
  name: string;
  status: string;
  config_version: number;
  config_hash?: string;
}

/** One sample of a node's `/cluster/members`; ok=false when the node did not answer. */
export interface MembersEvent {
  kind: 'members';
  t: Ms;
  node: string;
  ok: boolean;
  config_version?: number;
  members?: MemberView[];
}

/** What the harness knows of a node process: up = answering /status. */
export type NodeState = 'starting' | 'up' | 'down' | 'paused' | 'stopping';
export interface NodeStateEvent {
  kind: 'node';
  t: Ms;
  node: string;
  state: NodeState;
  /** Set when the process exited without the nemesis asking: how it ended. */
  crashed?: string;
}

/**
 * A nemesis operation as applied; `groups` for partitions, `node` for single-node faults. `t` is
 * when it took effect; `at`/`planned` where the schedule put it and `started` when the nemesis
 * began it (absent on the steps a rolling restart makes on its own).
 */
export interface FaultEvent {
  kind: 'fault';
  t: Ms;
  op: string;
  node?: string;
  groups?: string[][];
  note?: string;
  /** The schedule's time for the step, seconds from the start of the load. */
  at?: number;
  planned?: Ms;
  started?: Ms;
}

/** The balancer's health verdict on a node changed (context for availability dips). */
export interface BalancerEvent {
  kind: 'balancer';
  t: Ms;
  node: string;
  healthy: boolean;
  why: string | null;
}

export interface PhaseEvent {
  kind: 'phase';
  t: Ms;
  phase: string;
}

/** End-of-run facts: presence of each written entity in Postgres and on each node. */
export interface FinalDbEvent {
  kind: 'final-db';
  t: Ms;
  entity: WriteEntity;
  key: string;
  present: boolean;
}
export interface FinalProbeEvent {
  kind: 'final-probe';
  t: Ms;
  node: string;
  path: string;
  status: number;
}

export type HistoryEvent =
  | RequestEvent
  | WriteEvent
  | ProbeEvent
  | MembersEvent
  | NodeStateEvent
  | FaultEvent
  | PhaseEvent
  | BalancerEvent
  | FinalDbEvent
  | FinalProbeEvent;

export interface History {
  scenario: string;
  seed: number;
  startedAt: string;
  /** The nodes that serve traffic behind the balancer (data planes in hybrid mode). */
  nodes: string[];
  /** Hybrid mode: control planes (Admin API writes go there; no proxy traffic). */
  control_planes?: string[];
  events: HistoryEvent[];
}

export class Recorder {
  readonly history: History;
  private readonly t0 = performance.now();

  constructor(scenario: string, seed: number, nodes: string[], controlPlanes: string[] = []) {
    this.history = { scenario, seed, startedAt: new Date().toISOString(), nodes, ...(controlPlanes.length ? { control_planes: controlPlanes } : {}), events: [] };
  }

  now(): Ms {
    return Math.round(performance.now() - this.t0);
  }

  /** Record an event; `t` defaults to now. */
  add<E extends HistoryEvent>(e: Omit<E, 't'> & { t?: Ms }): E {
    const ev = { ...e, t: e.t ?? this.now() } as E;
    this.history.events.push(ev);
    return ev;
  }
}

export function eventsOf<K extends HistoryEvent['kind']>(h: History, kind: K): Extract<HistoryEvent, { kind: K }>[] {
  return h.events.filter((e) => e.kind === kind) as Extract<HistoryEvent, { kind: K }>[];
}
