import os from 'node:os';
import { noise } from '@chainsafe/libp2p-noise';
import { yamux } from '@chainsafe/libp2p-yamux';
import { gossipsub } from '@libp2p/gossipsub';
import { identify } from '@libp2p/identify';
import type { PrivateKey } from '@libp2p/interface';
import { memory } from '@libp2p/memory';
import { ping } from '@libp2p/ping';
import { preSharedKey } from '@libp2p/pnet';
import { tcp } from '@libp2p/tcp';
import { multiaddr, type Multiaddr } from '@multiformats/multiaddr';
import { createLibp2p } from 'libp2p';
import { HandshakeRefusals } from './handshake-refusals.ts';
import { hostPortOf } from './multiaddr-parts.ts';
import type { Blocklist } from './partition.ts';
import { tlsProtector, type ClusterTls } from './tls-protector.ts';
import { installYamuxWindowPolicy } from './yamux-window.ts';

export interface HostPort {
  host: string;
  port: number;
}

export interface HostOptions {
  privateKey: PrivateKey;
  listen: HostPort[];
  /** What peers dial; null derives it (see deriveAdvertise). */
  advertise: HostPort | null;
  /** The private-network key file bytes (`/key/swarm/psk/1.0.0/...`). */
  psk: Uint8Array;
  /** Mutual TLS with a CA instead of the private-network key (hybrid mode's cluster_mtls = pki). */
  tls?: ClusterTls;
  blocklist: Blocklist;
  dialTimeoutMs: number;
  gossipHeartbeatMs: number;
  /** In-process simulations: `/memory/<name>` addresses instead of TCP. */
  memoryName?: string;
  /**
   * In-process simulations only: @libp2p/plaintext (a devDependency) instead of noise, and no
   * private-network cipher. A hundred members in one process pay every connection's handshake
   * and every byte's encryption at both ends on one core, which says nothing about how the
   * membership protocol scales. Real nodes always use noise + pnet.
   */
  plaintext?: boolean;
}

// libp2p refuses more than 5 inbound connections a second from one IP unless allow-listed;
// nodes of one cluster on one host or one private subnet routinely exceed that on restart.
const PRIVATE_NETS = [
  '/ip4/127.0.0.0/ipcidr/8',
  '/ip4/10.0.0.0/ipcidr/8',
  '/ip4/172.16.0.0/ipcidr/12',
  '/ip4/192.168.0.0/ipcidr/16',
  '/ip4/100.64.0.0/ipcidr/10',
  '/ip6/::1/ipcidr/128',
  '/ip6/fc00::/ipcidr/7',
];

const WILDCARDS = new Set(['0.0.0.0', '::', '*']);

/** First non-loopback IPv4 of this machine, or 127.0.0.1 on a machine with none. */
export function firstNonLoopbackIPv4(): string {
  for (const addrs of Object.values(os.networkInterfaces())) {
    for (const a of addrs ?? []) if (a.family === 'IPv4' && !a.internal) return a.address;
  }
  return '127.0.0.1';
}

/** cluster_advertise when empty: a concrete listen host is what peers can dial; a wildcard one means the machine's address. */
export function deriveAdvertise(listen: HostPort[]): HostPort {
  const first = listen[0];
  if (!first) throw new Error('cluster_listen is off: a cluster node needs at least one listen address');
  if (!WILDCARDS.has(first.host)) return { host: first.host, port: first.port };
  return { host: firstNonLoopbackIPv4(), port: first.port };
}

export function hostPortToMultiaddr(hp: HostPort): Multiaddr {
  const h = hp.host.replace(/^\[|\]$/g, '');
  if (/^\d+\.\d+\.\d+\.\d+$/.test(h)) return multiaddr(`/ip4/${h}/tcp/${hp.port}`);
  if (h.includes(':')) return multiaddr(`/ip6/${h}/tcp/${hp.port}`);
  return multiaddr(`/dns4/${h}/tcp/${hp.port}`);
}

/** A `cluster_peers` entry (host:port or multiaddr) as a multiaddr. */
export function peerToMultiaddr(entry: string): Multiaddr {
  if (entry.startsWith('/')) return multiaddr(entry);
  const m = /^(\[[^\]]+\]|[^:]+):(\d+)$/.exec(entry.trim());
  if (!m) throw new Error(`cluster peer '${entry}' is neither host:port nor a multiaddr`);
  return hostPortToMultiaddr({ host: m[1]!, port: Number(m[2]) });
}

function remoteHostPort(ma: Multiaddr): string {
  const o = hostPortOf(ma);
  return `${o.host}:${o.port}`;
}

/** StrictSign messages are identified by signer and sequence number (gossipsub's own msgId). */
function fastMessageId(msg: { from?: Uint8Array; seqno?: Uint8Array; data?: Uint8Array }): string {
  if (!msg.from || !msg.seqno) return Buffer.from(msg.data ?? []).toString('base64');
  return Buffer.from(msg.from).toString('base64') + Buffer.from(msg.seqno).toString('hex');
}

export async function createHost(opts: HostOptions) {
  const advertise = opts.advertise ?? deriveAdvertise(opts.listen);
  const mem = opts.memoryName;
  const listenAddrs = mem ? [`/memory/${mem}`] : opts.listen.map((l) => hostPortToMultiaddr({ host: WILDCARDS.has(l.host) && l.host !== '::' ? '0.0.0.0' : l.host, port: l.port }).toString());
  // Port 0 (tests, simulations): the kernel picks; announce what was actually bound.
  const ephemeral = !mem && advertise.port === 0;
  const announce = mem ? [`/memory/${mem}`] : ephemeral ? [] : [hostPortToMultiaddr(advertise).toString()];
  installYamuxWindowPolicy();
  const bl = opts.blocklist;
  const refusals = new HandshakeRefusals();
  const libp2p = await createLibp2p({
    privateKey: opts.privateKey,
    addresses: { listen: listenAddrs, announce },
    transports: mem ? [memory()] : [tcp()],
    connectionEncrypters: [opts.plaintext ? (await import('@libp2p/plaintext')).plaintext() : refusals.encrypter(noise())],
    streamMuxers: [yamux()],
    // Both wrapped to count what the cluster port refuses (handshake-refusals.ts).
    connectionProtector: opts.plaintext ? undefined : refusals.protector(opts.tls ? tlsProtector(opts.tls, refusals.isInbound) : preSharedKey({ psk: opts.psk })),
    connectionManager: {
      allow: mem ? [] : PRIVATE_NETS,
      dialTimeout: opts.dialTimeoutMs,
      // Restarts and the simulator's faults make bursts of reconnects; these are peers, not strangers.
      maxIncomingPendingConnections: 64,
      maxConnections: 1000,
    },
    // Off: it pings every connection every interval on a new stream from both ends, O(n) per
    // node in a full mesh. The membership protocol watches every live member and closes what
    // it fails; connection-watch.ts pings only the rest.
    connectionMonitor: { enabled: false },
    connectionGater: {
      denyInboundConnection: refusals.markInbound,
      denyDialPeer: (peerId) => bl.has(peerId.toString()),
      denyDialMultiaddr: (ma) => bl.size > 0 && !mem && bl.hasAddress(remoteHostPort(ma)),
      denyInboundEncryptedConnection: (peerId) => bl.has(peerId.toString()),
      denyOutboundEncryptedConnection: (peerId) => bl.has(peerId.toString()),
      denyInboundUpgradedConnection: (peerId) => bl.has(peerId.toString()),
      denyOutboundUpgradedConnection: (peerId) => bl.has(peerId.toString()),
    },
    services: {
      identify: identify(),
      ping: ping({ maxInboundStreams: 64, maxOutboundStreams: 64 }),
      pubsub: gossipsub({
        globalSignaturePolicy: 'StrictSign',
        allowPublishToZeroTopicPeers: true,
        emitSelf: false,
        // A node's own messages go to every connected subscriber, not only its D mesh peers:
        // with the probe rings a node holds about 2 x cluster_probe_rings connections however
        // big the cluster is, so this stays bounded, and a change reaches most nodes in one hop
        // (25 nodes: a route change's gossip reached the median node 25-110 ms after the commit,
        // 130-380 ms with mesh-only publishing). Forwarding stays on the mesh.
        floodPublish: true,
        // Duplicates (each message arrives from up to D mesh peers) are recognised before their
        // signature is verified again: the signature check was the biggest single CPU cost.
        fastMsgIdFn: fastMessageId,
        heartbeatInterval: opts.gossipHeartbeatMs,
        // Membership decides who is in the cluster; gossipsub's own peer scoring stays neutral.
        // The thresholds alone are not enough: the mesh only grafts peers scoring >= 0, and the
        // default IP colocation penalty (-5 x (peers from one address beyond 10)^2) made every
        // peer negative once more than 10 shared an address (loopback, one host, a NAT or a
        // proxy in front): meshes of 0-2 peers, so changes reached the last nodes only through
        // heartbeat gossip (IHAVE/IWANT), 0.5-1 s late. The behaviour penalty (GRAFTs within a
        // backoff, unanswered IWANTs: what a restarting or saturated peer does) likewise.
        scoreParams: { IPColocationFactorWeight: 0, behaviourPenaltyWeight: 0 },
        scoreThresholds: { gossipThreshold: -Infinity, publishThreshold: -Infinity, graylistThreshold: -Infinity },
      }),
    },
  });
  if (ephemeral) {
    const bound = libp2p.getMultiaddrs().map(hostPortOf).find((o) => o.transport === 'tcp');
    if (bound) return { libp2p, advertise: { host: advertise.host, port: bound.port } };
  }
  return { libp2p, advertise };
}

export type ClusterLibp2p = Awaited<ReturnType<typeof createHost>>['libp2p'];
