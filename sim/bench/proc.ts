// What the kernel says about processes and their TCP sockets, for the benchmarks: CPU time and RSS from /proc,
// per-socket byte and segment counters from `ss -tinp` (tcp_info). Linux only, as the
// simulator is.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';

/** USER_HZ: /proc/<pid>/stat counts CPU time in these ticks (100 on every Linux we run on; asked, not assumed). */
const TICKS = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100;

/** utime + stime of one process, in seconds (`gone`, 0 by default, once it has exited). */
export function cpuSeconds(pid: number, gone = 0): number {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name, which may itself hold spaces and parentheses.
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) / TICKS;
  } catch {
    return gone;
  }
}

/** CPU seconds used so far by all of `pids` (a process that has exited counts 0). */
export function cpuOfAll(pids: number[]): number {
  return pids.reduce((t, pid) => t + cpuSeconds(pid), 0);
}

/** `pid` and every process below it (a process tree that forks, such as nginx or a node with workers). */
export function descendants(pid: number): number[] {
  return [pid, ...childPids(pid).flatMap(descendants)];
}

export function rssMb(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : 0;
  } catch {
    return 0;
  }
}

/** Direct children of `pid` (a node's proxy workers, Postgres' backends). */
export function childPids(pid: number): number[] {
  try {
    return fs
      .readdirSync(`/proc/${pid}/task`)
      .flatMap((t) => fs.readFileSync(`/proc/${pid}/task/${t}/children`, 'utf8').trim().split(/\s+/))
      .filter(Boolean)
      .map(Number);
  } catch {
    return [];
  }
}

/** The postmaster of a data directory (first line of postmaster.pid). */
export function postmasterPid(dataDir: string): number {
  const text = fs.readFileSync(`${dataDir}/postmaster.pid`, 'utf8');
  const pid = Number(text.split('\n')[0]);
  if (!pid) throw new Error(`no pid in ${dataDir}/postmaster.pid`);
  return pid;
}

export interface TcpSocket {
  /** local -> remote, unique while the socket lives. */
  key: string;
  pid: number;
  localPort: number;
  remotePort: number;
  bytesSent: number;
  bytesReceived: number;
  dataSegsOut: number;
  dataSegsIn: number;
}

const num = (info: string, name: string) => Number(new RegExp(`\\b${name}:(\\d+)`).exec(info)?.[1] ?? 0);
const port = (addr: string) => Number(addr.slice(addr.lastIndexOf(':') + 1));

/** Every established TCP socket of the machine's loopback (or of the network namespace `netnsOfPid` is in) with its owner and tcp_info counters. */
export function tcpSockets(netnsOfPid?: number): TcpSocket[] {
  // A node in its own network namespace (--net netns / zones): `ss` must run in that namespace.
  const [cmd, pre] = netnsOfPid === undefined ? ['ss', []] : ['nsenter', [`--net=/proc/${netnsOfPid}/ns/net`, 'ss']];
  const out = execFileSync(cmd, [...pre, '-tinpH', 'state', 'established'], { encoding: 'utf8', maxBuffer: 64 << 20 });
  const lines = out.split('\n');
  const socks: TcpSocket[] = [];
  for (let i = 0; i < lines.length; i++) {
    const head = lines[i]!;
    if (!head || /^\s/.test(head)) continue;
    const info = lines[i + 1] && /^\s/.test(lines[i + 1]!) ? lines[++i]! : '';
    const cols = head.trim().split(/\s+/);
    const pid = Number(/pid=(\d+)/.exec(head)?.[1] ?? 0);
    const [local, remote] = [cols[2] ?? '', cols[3] ?? ''];
    socks.push({
      key: `${netnsOfPid ?? ''}/${local}>${remote}`,
      pid,
      localPort: port(local),
      remotePort: port(remote),
      bytesSent: num(info, 'bytes_sent'),
      bytesReceived: num(info, 'bytes_received'),
      dataSegsOut: num(info, 'data_segs_out'),
      dataSegsIn: num(info, 'data_segs_in'),
    });
  }
  return socks;
}

/** Whether a process runs in another network namespace than this one. */
export function inOtherNetns(pid: number): boolean {
  try {
    return fs.readlinkSync(`/proc/${pid}/ns/net`) !== fs.readlinkSync('/proc/self/ns/net');
  } catch {
    return false;
  }
}
