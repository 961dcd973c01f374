// `--net netns`: every node runs in its own network namespace, and a partition drops the
// cluster packets between two nodes instead of refusing them (a black hole: no RST, probes time
// out, a dialer waits for its timeout). Every address stays in 127.0.0.0/8 because this kind of
// machine may only send traffic to loopback addresses:
//
//   root ns: the simulator, Postgres + fault proxies, upstream, balancer (all on 127.0.0.1)
//     └─ veth gs<pid>h<n> 127.201.K.254 ── hub ns: bridge br0 ── veth eth0 127.201.K.i  (node ns ni)
//
// 127/8 is "martian" off the loopback device, so each end sets route_localnet=1 and a route for
// 127.201.K.0/24 in the local routing table, which otherwise sends all of 127/8 to lo. Inside a
// node's namespace 127.0.0.1 is the node's own lo: connections to the root's service ports
// (Postgres fault proxies, upstream) are DNATed to the root end and DNATed back to 127.0.0.1
// there, so node config and service URLs stay `127.0.0.1:port` as in the default mode.
import { execFile, execFileSync, spawnSync } from 'node:child_process';
import { trackCleanup } from './reaper.ts';

export interface NetnsNode {
  name: string;
  ports: { proxy: number; admin: number; cluster: number };
}

export interface NetnsOptions {
  nodes: NetnsNode[];
  /** Root-namespace ports (on 127.0.0.1) the nodes must reach: Postgres fault proxies, upstream. */
  hostPorts: number[];
  log?: (line: string) => void;
}

const PREFIX = 'gsim-';
const CHAIN = 'GSIM-PART';
/** Networks built by this process so far: a test (or a retry) may build more than one. */
let built = 0;

/** Why `--net netns` cannot run here, or undefined when it can. */
export function netnsUnavailable(): string | undefined {
  if (process.platform !== 'linux') return `--net netns needs Linux network namespaces; this is ${process.platform}. Use the default mode (no --net).`;
  const uid = process.getuid?.();
  if (uid !== 0) return `--net netns needs root (it creates network namespaces, veth pairs and iptables rules); running as uid ${uid}. Run as root or use the default mode (no --net).`;
  for (const [cmd, pkg] of [['ip', 'iproute2'], ['iptables', 'iptables'], ['iptables-restore', 'iptables'], ['sysctl', 'procps']] as const) {
    const r = spawnSync(cmd, ['--version'], { stdio: 'ignore' });
    if (r.error) return `--net netns needs the \`${cmd}\` command (Debian package ${pkg}), which is not on PATH (${(r.error as NodeJS.ErrnoException).code}). Install it or use the default mode (no --net).`;
  }
  if (probed) return undefined;
  // uid 0 is not enough (a container may lack CAP_NET_ADMIN or nf_tables): try the real thing once.
  const ns = `${PREFIX}${process.pid}-probe`;
  const steps: string[][] = [['ip', 'netns', 'add', ns], ['ip', '-n', ns, 'link', 'add', 'probe0', 'type', 'veth', 'peer', 'name', 'probe1'], ['ip', 'netns', 'exec', ns, 'iptables', '-w', '-t', 'nat', '-S']];
  try {
    for (const [cmd, ...args] of steps) {
      const r = spawnSync(cmd!, args, { encoding: 'utf8' });
      if (r.status !== 0) return `--net netns: \`${cmd} ${args.join(' ')}\` failed (${(r.stderr || '').trim() || `exit ${r.status}`}): network namespaces, veth pairs or iptables are not available here. Use the default mode (no --net).`;
    }
  } finally {
    quiet('ip', ['netns', 'del', ns]);
  }
  probed = true;
  return undefined;
}

let probed = false;

function sh(cmd: string, args: string[]): string {
  try {
    return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new Error(`--net netns: \`${cmd} ${args.join(' ')}\` failed: ${(e.stderr || e.message).trim()}`);
  }
}

function quiet(cmd: string, args: string[]): void {
  spawnSync(cmd, args, { stdio: 'ignore' });
}

function shAsync(cmd: string, args: string[], input?: string): Promise<string | undefined> {
  return new Promise((resolve) => {
    const child = execFile(cmd, args, { timeout: 10_000 }, (err, _out, stderr) => resolve(err ? `\`${cmd} ${args.slice(0, 4).join(' ')} …\` failed: ${(stderr || err.message).trim()}` : undefined));
    child.stdin?.end(input ?? '');
  });
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * A run is named by its owner's pid and a sequence number: `pid-seq`. `match` is either, or a
 * bare pid for every run of that process.
 */
function rootRules(match?: string): string[] {
  const out = spawnSync('iptables', ['-w', '-t', 'nat', '-S', 'PREROUTING'], { encoding: 'utf8' }).stdout ?? '';
  return out.split('\n').filter((l) => l.startsWith('-A ') && new RegExp(`gossamer-sim-${match ?? '\\d+'}\\b`).test(l));
}

function rootLinks(match: string): string[] {
  const out = spawnSync('ip', ['-o', 'link', 'show'], { encoding: 'utf8' }).stdout ?? '';
  const name = `gs${match.replace('-', 'h')}`;
  return [...out.matchAll(/^\d+: (gs\d+h\d+)[@:]/gm)].map((m) => m[1]!).filter((l) => (match.includes('-') ? l === name : l.startsWith(`${name}h`)));
}

function namespaces(match: string): string[] {
  const list = spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' }).stdout ?? '';
  const start = match ? `${PREFIX}${match}-` : PREFIX;
  return list.split('\n').map((l) => l.split(' ')[0]!).filter((n) => n.startsWith(start));
}

/** Everything a run created: namespaces (their veths go with them), root veth, root DNAT rule. */
function removeRun(match: string): void {
  for (const ns of namespaces(match)) quiet('ip', ['netns', 'del', ns]);
  for (const link of rootLinks(match)) quiet('ip', ['link', 'del', link]);
  for (const rule of rootRules(match)) quiet('iptables', ['-w', '-t', 'nat', ...splitRule(rule.replace(/^-A /, '-D '))]);
}

function splitRule(rule: string): string[] {
  // `iptables -S` quotes comments with spaces; ours have none, so a plain split is exact.
  return rule.split(' ').map((w) => w.replace(/^"|"$/g, ''));
}

/** Runs whose simulator died without cleaning up (SIGKILL): their namespaces, veth and rule. */
export function sweepStaleRuns(log?: (line: string) => void): number[] {
  const pids = new Set<number>();
  for (const ns of namespaces('')) pids.add(Number(ns.slice(PREFIX.length).split('-')[0]));
  for (const r of rootRules()) pids.add(Number(/gossamer-sim-(\d+)/.exec(r)![1]));
  const stale = [...pids].filter((p) => p !== process.pid && !alive(p));
  for (const p of stale) {
    log?.(`--net netns: removing what a dead simulator (pid ${p}) left behind`);
    removeRun(String(p));
  }
  return stale;
}

/** A free 127.201.K.0/24 (no route in the root's local table uses it). */
function pickSubnet(): number {
  const used = spawnSync('ip', ['-4', 'route', 'show', 'table', 'local'], { encoding: 'utf8' }).stdout ?? '';
  for (let i = 0; i < 250; i++) {
    const k = ((process.pid + i) % 250) + 1;
    if (!used.includes(`127.201.${k}.`)) return k;
  }
  throw new Error('--net netns: every 127.201.K.0/24 subnet is in use (250 runs at once?)');
}

export class NetnsNetwork {
  readonly hostAddr: string;
  private readonly addrs = new Map<string, string>();
  private readonly tag = `${process.pid}-${++built}`;
  private destroyed = false;
  private untrack: () => void = () => {};

  private constructor(private readonly opts: NetnsOptions, private readonly subnet: number) {
    this.hostAddr = `127.201.${subnet}.254`;
    opts.nodes.forEach((n, i) => this.addrs.set(n.name, `127.201.${subnet}.${i + 1}`));
  }

  /** Build the namespaces, links and NAT rules; throws (after undoing what it did) when it cannot. */
  static create(opts: NetnsOptions): NetnsNetwork {
    const why = netnsUnavailable();
    if (why) throw new Error(why);
    if (opts.nodes.length > 200) throw new Error(`--net netns: at most 200 nodes, asked for ${opts.nodes.length}`);
    sweepStaleRuns(opts.log);
    const net = new NetnsNetwork(opts, pickSubnet());
    net.untrack = trackCleanup(`network namespaces of simulator ${process.pid}`, () => net.destroy());
    try {
      net.build();
    } catch (err) {
      net.destroy();
      throw err;
    }
    opts.log?.(`--net netns: ${opts.nodes.length} node namespaces on 127.201.${net.subnet}.0/24, host end ${net.hostAddr}`);
    return net;
  }

  private ns(name: string): string {
    return `${PREFIX}${this.tag}-${name}`;
  }
  private get hub(): string {
    return this.ns('hub');
  }
  private get hostLink(): string {
    return `gs${this.tag.replace('-', 'h')}`;
  }

  /** The node's address: its listen and advertise host. */
  host(name: string): string {
    const a = this.addrs.get(name);
    if (!a) throw new Error(`--net netns: no namespace for node ${name}`);
    return a;
  }

  /** Command prefix that runs a program in the node's namespace (ip execs it: same pid). */
  wrap(name: string): string[] {
    this.host(name);
    return ['ip', 'netns', 'exec', this.ns(name)];
  }

  private build(): void {
    const { hub, hostLink, hostAddr } = this;
    const net24 = `127.201.${this.subnet}.0/24`;
    sh('ip', ['netns', 'add', hub]);
    sh('ip', ['-n', hub, 'link', 'add', 'br0', 'type', 'bridge']);
    sh('ip', ['-n', hub, 'link', 'set', 'br0', 'up']);
    // "uplink", not "h": ip reads a lone "h" as "help".
    sh('ip', ['link', 'add', hostLink, 'type', 'veth', 'peer', 'name', 'uplink', 'netns', hub]);
    sh('ip', ['-n', hub, 'link', 'set', 'uplink', 'master', 'br0', 'up']);
    sh('sysctl', ['-qw', `net.ipv4.conf.${hostLink}.route_localnet=1`]);
    sh('ip', ['addr', 'add', `${hostAddr}/32`, 'dev', hostLink]);
    sh('ip', ['link', 'set', hostLink, 'up']);
    sh('ip', ['route', 'add', net24, 'dev', hostLink, 'table', 'local', 'src', hostAddr]);
    sh('iptables', ['-w', '-t', 'nat', '-I', 'PREROUTING', '-i', hostLink, '-d', hostAddr, '-p', 'tcp', '-m', 'comment', '--comment', `gossamer-sim-${this.tag}`, '-j', 'DNAT', '--to-destination', '127.0.0.1']);
    for (const [i, n] of this.opts.nodes.entries()) {
      const ns = this.ns(n.name);
      const addr = this.host(n.name);
      const port = `n${i + 1}`;
      sh('ip', ['netns', 'add', ns]);
      sh('ip', ['link', 'add', port, 'netns', hub, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns]);
      sh('ip', ['-n', hub, 'link', 'set', port, 'master', 'br0', 'up']);
      // multiport takes at most 15 ports a rule: 50 nodes have 50 Postgres fault proxies.
      const portGroups = Array.from({ length: Math.ceil(this.opts.hostPorts.length / 15) }, (_, g) => this.opts.hostPorts.slice(g * 15, g * 15 + 15));
      const nat = this.opts.hostPorts.length
        ? [
            ...portGroups.map((ports) => `-A OUTPUT -d 127.0.0.1 -p tcp -m multiport --dports ${ports.join(',')} -j DNAT --to-destination ${hostAddr}`),
            `-A POSTROUTING -o eth0 -s 127.0.0.1 -j SNAT --to-source ${addr}`,
          ]
        : [];
      const rules = ['*nat', ...nat, 'COMMIT', '*filter', `:${CHAIN} - [0:0]`, `-A INPUT -j ${CHAIN}`, `-A OUTPUT -j ${CHAIN}`, 'COMMIT', ''].join('\n');
      sh('ip', ['netns', 'exec', ns, 'sh', '-ec', [
        'ip link set lo up',
        'sysctl -qw net.ipv4.conf.all.route_localnet=1 net.ipv4.conf.default.route_localnet=1',
        `ip addr add ${addr}/32 dev eth0`,
        'ip link set eth0 up',
        `ip route add ${net24} dev eth0 table local src ${addr}`,
        `printf '%s' '${rules}' | iptables-restore -w`,
      ].join('\n')]);
    }
  }

  /**
   * Drop the cluster packets between nodes of different groups, both ways and for connections
   * either side dialed; a node in no group is cut from everyone. Other traffic is untouched.
   */
  async partition(groups: string[][]): Promise<string[]> {
    const all = this.opts.nodes;
    const problems = await Promise.all(all.map((me) => {
      const mine = groups.find((g) => g.includes(me.name)) ?? [me.name];
      const rules = all.filter((o) => !mine.includes(o.name)).flatMap((o) => {
        const peer = this.host(o.name);
        return [
          `-A ${CHAIN} -d ${peer} -p tcp --dport ${o.ports.cluster} -j DROP`,
          `-A ${CHAIN} -d ${peer} -p tcp --sport ${me.ports.cluster} -j DROP`,
          `-A ${CHAIN} -s ${peer} -p tcp --sport ${o.ports.cluster} -j DROP`,
          `-A ${CHAIN} -s ${peer} -p tcp --dport ${me.ports.cluster} -j DROP`,
        ];
      });
      return this.setRules(me.name, rules);
    }));
    return problems.filter((p): p is string => !!p);
  }

  async heal(): Promise<string[]> {
    const problems = await Promise.all(this.opts.nodes.map((n) => this.setRules(n.name, [])));
    return problems.filter((p): p is string => !!p);
  }

  /** Replace the node's partition rules in one iptables-restore transaction. */
  private async setRules(name: string, rules: string[]): Promise<string | undefined> {
    if (this.destroyed) return `${name}: the network is already torn down`;
    const err = await shAsync('ip', ['netns', 'exec', this.ns(name), 'iptables-restore', '-w', '--noflush'], ['*filter', `-F ${CHAIN}`, ...rules, 'COMMIT', ''].join('\n'));
    return err && `${name}: ${err}`;
  }

  /** The DROP rules in force in a node's namespace (for tests and the report). */
  rules(name: string): string[] {
    return sh('ip', ['netns', 'exec', this.ns(name), 'iptables', '-w', '-S', CHAIN]).split('\n').filter((l) => l.startsWith('-A'));
  }

  /** Remove everything this network created. Synchronous: it also runs from the exit hook. */
  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    this.untrack();
    removeRun(this.tag);
  }
}

/** Namespaces a process's runs left (after destroy() there must be none). */
export function leftoverNamespaces(pid = process.pid): string[] {
  return namespaces(String(pid));
}

/** Root-namespace leftovers of a process's runs: veths and DNAT rules. */
export function leftoverRootState(pid = process.pid): string[] {
  return [...rootRules(String(pid)), ...rootLinks(String(pid)).map((l) => `link ${l}`)];
}
