// The parts of a multiaddr the cluster reads: host, port, transport and peer id. Multiaddr 13
// dropped toOptions() and getPeerId(); its components carry the same values.
import type { Multiaddr } from '@multiformats/multiaddr';

const HOSTS = new Set(['ip4', 'ip6', 'dns', 'dns4', 'dns6', 'dnsaddr']);

export interface HostPortParts {
  host: string;
  port: number;
  /** 'tcp', 'udp', or '' for an address without a port (a /memory/ one). */
  transport: string;
}

/** The first host and the port after it (toOptions() of multiaddr 12); throws for an address with no host. */
export function hostPortOf(ma: Multiaddr): HostPortParts {
  const parts = ma.getComponents();
  const i = parts.findIndex((c) => HOSTS.has(c.name));
  if (i < 0) throw new Error(`multiaddr ${ma.toString()} has no host`);
  const next = parts[i + 1];
  const withPort = next && (next.name === 'tcp' || next.name === 'udp');
  return { host: parts[i]!.value ?? '', port: withPort ? Number(next.value) : 0, transport: withPort ? next.name : '' };
}

/** The peer id at the end of `ma` (its last /p2p/ part), or null. */
export function peerIdOf(ma: Multiaddr): string | null {
  return ma.getComponents().findLast((c) => c.name === 'p2p')?.value ?? null;
}
