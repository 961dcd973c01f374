// `--net zones`: the `--net netns` network (every node in its own namespace on one bridge) with
// the nodes grouped in zones, and latency and loss between zones, as between the availability
// zones of a cloud region:
//
// - latency: a relay process per node, in the node's namespace, listens on the node's advertised
//   cluster address and forwards to the node, which listens on its namespace's 127.0.0.1 (the
//   same port). The relay delays both directions of a connection by the zones of the two ends
//   (zone-relay.ts: no `netem` on these kernels). A round trip across zones is 2 × cross_ms.
// - loss: in every namespace, packets arriving from a node of another zone are dropped with
//   probability p (iptables `statistic --mode random`, chain GSIM-LOSS). TCP retransmits them,
//   so loss shows as latency spikes, as on a real lossy link.
// - partitions (the nemesis) still drop packets by peer address and cluster port (netns.ts); the
//   relay listens on that very address and port, so a cut is cut before the relay.
//
// Clean-up: relays are tracked by the reaper (their process groups are SIGKILLed on exit, Ctrl-C
// and a crash) and each exits by itself when the simulator that started it dies (SIGKILL
// included); the loss rules live in the namespaces and go with them (netns.ts removes those).
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { transformSync } from 'esbuild';
import { NetnsNetwork, type NetnsNode } from './netns.ts';
import { trackGroup } from './reaper.ts';
import type { RelaySpec } from './zone-relay.ts';

export interface ZoneOptions {
  /** Number of zones; nodes are spread over them in contiguous blocks (n1..nk in zone 1, …). */
  zones: number;
  /** One-way delay inside a zone (the relay hop itself when below 1 ms). */
  inMs: number;
  /** One-way delay across zones, ± jitterMs (uniform). */
  crossMs: number;
  jitterMs: number;
  /** Probability that a packet from another zone is dropped, 0..1. */
  loss: number;
}

export const DEFAULT_ZONES: ZoneOptions = { zones: 3, inMs: 0.2, crossMs: 20, jitterMs: 5, loss: 0 };

export interface ZonesNetworkOptions {
  nodes: NetnsNode[];
  hostPorts: number[];
  zones?: Partial<ZoneOptions>;
  log?: (line: string) => void;
}

const LOSS_CHAIN = 'GSIM-LOSS';
const RELAY_SRC = fileURLToPath(new URL('./zone-relay.ts', import.meta.url));

/** The relay as plain JavaScript, compiled once per process (esbuild is already a dependency). */
let relayJs: string | undefined;
function relayScript(): string {
  if (relayJs && fs.existsSync(relayJs)) return relayJs;
  const out = transformSync(fs.readFileSync(RELAY_SRC, 'utf8'), { loader: 'ts', format: 'esm', target: 'node20' });
  relayJs = path.join(os.tmpdir(), `gossamer-zone-relay-${process.pid}.mjs`);
  fs.writeFileSync(relayJs, out.code);
  process.once('exit', () => fs.rmSync(relayJs!, { force: true }));
  return relayJs;
}

/** Which zone (0-based) each node is in: contiguous blocks, as even as they go. */
export function assignZones(names: string[], zones: number): Map<string, number> {
  const z = Math.max(1, Math.min(zones, names.length || 1));
  return new Map(names.map((n, i) => [n, Math.floor((i * z) / names.length)]));
}

function validate(o: ZoneOptions): void {
  const bad = (what: string) => {
    throw new Error(`--net zones: ${what}`);
  };
  if (!Number.isInteger(o.zones) || o.zones < 1) bad(`zones must be a positive integer, got ${o.zones}`);
  if (!(o.loss >= 0 && o.loss < 1)) bad(`loss must be in [0, 1), got ${o.loss}`);
  for (const [k, v] of [['in_ms', o.inMs], ['cross_ms', o.crossMs], ['jitter_ms', o.jitterMs]] as const) if (!(v >= 0)) bad(`${k} must be ≥ 0, got ${v}`);
  if (o.jitterMs > o.crossMs) bad(`jitter_ms (${o.jitterMs}) larger than cross_ms (${o.crossMs}) would make negative delays`);
}

export class ZonesNetwork {
  readonly opts: ZoneOptions;
  private readonly zone: Map<string, number>;
  private readonly relays = new Map<string, { proc: ChildProcess; untrack: () => void }>();
  private destroyed = false;

  private constructor(readonly net: NetnsNetwork, private readonly nodes: NetnsNode[], opts: ZoneOptions, private readonly log: (l: string) => void) {
    this.opts = opts;
    this.zone = assignZones(nodes.map((n) => n.name), opts.zones);
  }

  /** Build the namespaces, the loss rules and one relay per node; undoes everything when a step fails. */
  static async create(o: ZonesNetworkOptions): Promise<ZonesNetwork> {
    const opts = { ...DEFAULT_ZONES, ...o.zones };
    validate(opts);
    const net = NetnsNetwork.create({ nodes: o.nodes, hostPorts: o.hostPorts, log: o.log });
    const z = new ZonesNetwork(net, o.nodes, opts, o.log ?? (() => {}));
    try {
      await z.installLoss();
      await z.setLoss(opts.loss);
      await Promise.all(o.nodes.map((n) => z.startRelay(n)));
    } catch (err) {
      z.destroy();
      throw err;
    }
    z.log(`--net zones: ${z.describe()}`);
    return z;
  }

  describe(): string {
    const o = this.opts;
    const sizes = Array.from({ length: o.zones }, (_, i) => [...this.zone.values()].filter((z) => z === i).length);
    return `${this.nodes.length} nodes in ${o.zones} zones (${sizes.join('/')}), ${o.inMs} ms inside a zone, ${o.crossMs} ± ${o.jitterMs} ms across (one way), ${(o.loss * 100).toFixed(2)} % loss across`;
  }

  zoneOf(name: string): number {
    const z = this.zone.get(name);
    if (z === undefined) throw new Error(`--net zones: no node named ${name}`);
    return z;
  }

  host(name: string): string {
    return this.net.host(name);
  }

  wrap(name: string): string[] {
    return this.net.wrap(name);
  }

  /** Where the node itself must listen: behind its relay, on its namespace's own loopback. */
  innerListen(name: string, port: number): string {
    this.zoneOf(name);
    return `127.0.0.1:${port}`;
  }

  partition(groups: string[][]): Promise<string[]> {
    return this.net.partition(groups);
  }

  heal(): Promise<string[]> {
    return this.net.heal();
  }

  relayPids(): number[] {
    return [...this.relays.values()].map((r) => r.proc.pid!).filter(Boolean);
  }

  private async iptables(name: string, lines: string[]): Promise<void> {
    const input = ['*filter', ...lines, 'COMMIT', ''].join('\n');
    const child = spawn('ip', [...this.net.wrap(name).slice(1), 'iptables-restore', '-w', '--noflush'], { stdio: ['pipe', 'ignore', 'pipe'] });
    let err = '';
    child.stderr!.on('data', (d) => (err += d));
    child.stdin!.end(input);
    const code = await new Promise<number | null>((resolve, reject) => {
      child.once('error', reject);
      child.once('exit', resolve);
    });
    if (code !== 0) throw new Error(`--net zones: iptables-restore in ${name}'s namespace failed (exit ${code}): ${err.trim()}\n${input}`);
  }

  private async installLoss(): Promise<void> {
    await Promise.all(this.nodes.map((n) => this.iptables(n.name, [`:${LOSS_CHAIN} - [0:0]`, `-I INPUT 1 -j ${LOSS_CHAIN}`])));
  }

  /** Drop packets from other zones with probability p, in every namespace (one transaction each). */
  async setLoss(p: number): Promise<void> {
    if (!(p >= 0 && p < 1)) throw new Error(`--net zones: loss must be in [0, 1), got ${p}`);
    this.opts.loss = p;
    await Promise.all(this.nodes.map((me) => {
      const rules = p === 0 ? [] : this.nodes
        .filter((o) => this.zoneOf(o.name) !== this.zoneOf(me.name))
        .map((o) => `-A ${LOSS_CHAIN} -s ${this.host(o.name)} -m statistic --mode random --probability ${p} -j DROP`);
      return this.iptables(me.name, [`-F ${LOSS_CHAIN}`, ...rules]);
    }));
  }

  /** The loss rules in force in a node's namespace, with their packet counters. */
  lossRules(name: string): string[] {
    const r = spawnText([...this.net.wrap(name), 'iptables', '-w', '-S', LOSS_CHAIN]);
    return r.split('\n').filter((l) => l.startsWith('-A'));
  }

  private spec(n: NetnsNode): RelaySpec {
    const o = this.opts;
    return {
      listen: { host: this.host(n.name), port: n.ports.cluster },
      target: { host: '127.0.0.1', port: n.ports.cluster },
      zoneOf: Object.fromEntries(this.nodes.map((m) => [this.host(m.name), this.zoneOf(m.name)])),
      myZone: this.zoneOf(n.name),
      inMs: o.inMs,
      crossMs: o.crossMs,
      jitterMs: o.jitterMs,
      parent: process.pid,
    };
  }

  private async startRelay(n: NetnsNode): Promise<void> {
    const [cmd, ...args] = [...this.net.wrap(n.name), process.execPath, relayScript(), JSON.stringify(this.spec(n))];
    // Detached: its own process group, which the reaper kills; `ip netns exec` execs (same pid).
    const proc = spawn(cmd!, args, { detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    this.relays.set(n.name, { proc, untrack: trackGroup(proc.pid!, `zone relay ${n.name}`) });
    let err = '';
    proc.stderr!.on('data', (d) => (err += d));
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`--net zones: the relay of ${n.name} did not start within 15 s: ${err.trim()}`)), 15_000);
      proc.stdout!.once('data', () => {
        clearTimeout(timer);
        resolve();
      });
      proc.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`--net zones: the relay of ${n.name} exited (${code}): ${err.trim()}`));
      });
    });
    proc.stdout!.resume();
    proc.stderr!.on('data', (d) => this.log(`zone relay ${n.name}: ${String(d).trim()}`));
  }

  /** Kill the relays, then remove the namespaces (and with them the loss and partition rules). Synchronous. */
  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    for (const [, r] of this.relays) {
      try {
        process.kill(-r.proc.pid!, 'SIGKILL');
      } catch {
        // already gone
      }
      r.untrack();
    }
    this.net.destroy();
  }
}

function spawnText(cmd: string[]): string {
  return spawnSync(cmd[0]!, cmd.slice(1), { encoding: 'utf8' }).stdout ?? '';
}
