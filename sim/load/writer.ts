// Admin API writes on random nodes: create/update/delete routes, consumers and key-auth
// credentials. Every write is recorded with its outcome; a route write that is acknowledged
// carries what every node's proxy must then answer (path → status) for the prober.
import type { Recorder, WriteEntity, WriteEvent, WriteOp } from '../history.ts';
import type { Prng } from '../prng.ts';
import { call, json } from './http.ts';

export interface WriteTarget {
  name: string;
  adminUrl: string;
}

export interface WriterOptions {
  recorder: Recorder;
  rng: Prng;
  writesPerSecond: number;
  entities: WriteEntity[];
  serviceId: string;
  /** Consumer that owns the simulated credentials; never deleted. */
  owner: string;
  targets: () => WriteTarget[];
  /** Called when a write is sent (it supersedes earlier expectations on its key)... */
  onSend?: (key: string, seq: number) => void;
  /** ...and when a route write is acknowledged. */
  onAck?: (w: WriteEvent) => void;
  timeoutMs?: number;
}

interface Entity {
  key: string;
  path?: string;
  id?: string;
  version: number;
  /** An earlier write's outcome is unknown: leave this entity alone from now on. */
  tainted: boolean;
}

const MAX_LIVE = 12;

export class Writer {
  private seq = 0;
  private counter = 0;
  private readonly live: Record<WriteEntity, Entity[]> = { routes: [], consumers: [], keyauth_credentials: [] };
  private stopped = false;
  private loop: Promise<void> | undefined;
  acked = 0;
  failed = 0;

  constructor(private readonly o: WriterOptions) {}

  start(): void {
    const interval = 1000 / this.o.writesPerSecond;
    this.loop = (async () => {
      while (!this.stopped) {
        const t0 = performance.now();
        await this.writeOnce();
        const wait = interval - (performance.now() - t0);
        if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      }
    })();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.loop;
  }

  /** Entities the final check should look up: every key this writer ever wrote. */
  keys(): { entity: WriteEntity; key: string }[] {
    return this.written;
  }
  private written: { entity: WriteEntity; key: string }[] = [];

  async writeOnce(): Promise<WriteEvent | undefined> {
    const targets = this.o.targets();
    if (targets.length === 0) return undefined;
    const node = this.o.rng.pick(targets);
    const entity = this.o.rng.pick(this.o.entities);
    const pool = this.live[entity].filter((e) => !e.tainted);
    const r = this.o.rng.next();
    let op: WriteOp;
    if (pool.length === 0 || (pool.length < MAX_LIVE && r < 0.45)) op = 'create';
    else op = entity !== 'keyauth_credentials' && r < 0.75 ? 'update' : 'delete';
    const target = op === 'create' ? undefined : this.o.rng.pick(pool);
    return this.write(node, entity, op, target);
  }

  private async write(node: WriteTarget, entity: WriteEntity, op: WriteOp, target: Entity | undefined): Promise<WriteEvent> {
    const seq = ++this.seq;
    const n = ++this.counter;
    const e: Entity = target ?? {
      key: entity === 'routes' ? `sim-r${n}` : entity === 'consumers' ? `sim-c${n}` : `sim-k${n}`,
      version: 0,
      tainted: false,
    };
    if (!target) this.written.push({ entity, key: e.key });
    let method: string;
    let url: string;
    let body: unknown;
    let expect: Record<string, number> | undefined;
    let newPath: string | undefined;
    const base = node.adminUrl;
    if (entity === 'routes') {
      if (op === 'create') {
        newPath = `/sim/${e.key.slice(4)}/`;
        [method, url, body] = ['POST', `${base}/routes`, { name: e.key, paths: [newPath], service: { id: this.o.serviceId } }];
        expect = { [newPath]: 200 };
      } else if (op === 'update') {
        newPath = `/sim/${e.key.slice(4)}-u${e.version + 1}/`;
        [method, url, body] = ['PATCH', `${base}/routes/${e.key}`, { paths: [newPath] }];
        expect = { [newPath]: 200, [e.path!]: 404 };
      } else {
        [method, url] = ['DELETE', `${base}/routes/${e.key}`];
        expect = { [e.path!]: 404 };
      }
    } else if (entity === 'consumers') {
      if (op === 'create') [method, url, body] = ['POST', `${base}/consumers`, { username: e.key }];
      else if (op === 'update') [method, url, body] = ['PATCH', `${base}/consumers/${e.key}`, { custom_id: `${e.key}-v${e.version + 1}` }];
      else [method, url] = ['DELETE', `${base}/consumers/${e.key}`];
    } else {
      if (op === 'create') [method, url, body] = ['POST', `${base}/consumers/${this.o.owner}/key-auth`, { key: e.key }];
      else [method, url] = ['DELETE', `${base}/consumers/${this.o.owner}/key-auth/${e.id}`];
    }
    this.o.onSend?.(e.key, seq);
    const t = this.o.recorder.now();
    const res = await call(method, url, { timeoutMs: this.o.timeoutMs ?? 8000, json: body });
    const ok = res.status >= 200 && res.status < 300;
    const ev = this.o.recorder.add<WriteEvent>({
      kind: 'write', t, latency: res.latency, seq, node: node.name, op, entity, key: e.key, status: res.status,
      ...(res.error ? { error: res.error } : !ok ? { error: res.body.slice(0, 160) } : {}),
      ...(expect ? { expect } : {}),
    });
    if (ok) {
      this.acked++;
      if (op === 'create') {
        e.id = json<{ id?: string }>(res)?.id;
        e.path = newPath;
        this.live[entity].push(e);
      } else if (op === 'update') {
        e.version++;
        if (newPath) e.path = newPath;
      } else {
        this.live[entity] = this.live[entity].filter((x) => x !== e);
      }
      if (expect) this.o.onAck?.(ev);
    } else {
      this.failed++;
      // No answer, or a server error: the write may or may not have happened.
      if (res.status === 0 || (res.status >= 500 && res.status !== 503)) {
        e.tainted = true;
        if (!target) this.live[entity].push(e);
      }
    }
    return ev;
  }
}
