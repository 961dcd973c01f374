import { TopicValidatorResult } from '@libp2p/gossipsub';
import type { PrivateKey } from '@libp2p/interface';
import { peerIdFromString } from '@libp2p/peer-id';
import { multiaddr } from '@multiformats/multiaddr';
import type { ClusterNodeRegistration, ClusterNodesStore } from '../db/cluster-nodes.ts';
import type { Logger } from '../log.ts';
import { ConnectionWatch } from './connection-watch.ts';
import { Discovery } from './discovery.ts';
import { createHost, type ClusterLibp2p, type HostPort } from './host.ts';
import type { ClusterTls } from './tls-protector.ts';
import { loadOrCreateIdentity } from './identity.ts';
import { Membership, type MembershipEvents } from './membership.ts';
import { countGossipRefusals } from './gossip-refusals.ts';
import { decode, encode, isMemberInfo, MAX_MEMBERSHIP_MESSAGE_BYTES, MEMBERSHIP_TOPIC, type GossipMessage } from './messages.ts';
import { countRefusal, type RefusalReason } from './metrics.ts';
import { Blocklist } from './partition.ts';
import { createProbeTransport } from './probe.ts';
import { defaultSettings, type MembershipSettings } from './settings.ts';
import { toView, type Member, type MemberInfo, type MemberView } from './state.ts';

export interface StartClusterOptions {
  nodeId: string;
  nodeName: string;
  role: string;
  version: string;
  /** The identity key lives under `<prefix>/cluster/identity.key`. */
  prefix: string;
  listen: HostPort[];
  advertise: HostPort | null;
  /** cluster_peers: host:port or multiaddr seeds. */
  peers: string[];
  /** The private-network key file bytes (see pskFromSecret). */
  psk: Uint8Array;
  /** Mutual TLS with a CA instead of the private-network key (hybrid mode's cluster_mtls = pki). */
  tls?: ClusterTls;
  /** DB modes: the cluster_nodes registry. Absent for data planes. */
  store?: ClusterNodesStore;
  settings?: Partial<MembershipSettings>;
  logger: Logger;
  /** Partition switch for the chaos simulator: peer ids or member addresses/names. */
  blockedPeers?: Iterable<string>;
  /** Initial local state announced with the membership. */
  config_version?: number;
  config_hash?: string | null;
  /** Tests and in-process simulations: skip the identity file. */
  privateKey?: PrivateKey;
  /** In-process simulations: use @libp2p/memory under this name instead of TCP. */
  memoryName?: string;
  /** In-process simulations: plaintext instead of noise (see HostOptions.plaintext). */
  plaintext?: boolean;
}

export type GossipHandler = (data: Uint8Array, from: MemberView) => void;

export class Cluster {
  readonly peerId: string;
  private handlers = new Map<string, Set<GossipHandler>>();
  private stopped = false;
  readonly startedAt = new Date();

  constructor(
    readonly libp2p: ClusterLibp2p,
    readonly membership: Membership,
    private readonly discovery: Discovery,
    private readonly blocklist: Blocklist,
    private readonly settings: MembershipSettings,
    private readonly log: Logger,
    private readonly watch: ConnectionWatch,
  ) {
    this.peerId = libp2p.peerId.toString();
  }

  get nodeId(): string {
    return this.membership.self.id;
  }

  members(): MemberView[] {
    return this.membership.views();
  }

  /** Whether a member's cluster_nodes row is fresh (Discovery.registered). */
  registered(nodeId: string): boolean | undefined {
    return this.discovery.registered(nodeId);
  }

  member(ref: string): MemberView | undefined {
    return this.membership.view(ref);
  }

  /** Remove a failed or left member (DELETE /cluster/members/{id}); throws MembershipError 404 / 409. */
  forceLeave(ref: string): MemberView {
    const v = this.membership.forceLeave(ref);
    // Its cluster_nodes row goes too, or every node would keep dialling it until it aged out.
    void this.discovery.removeRow(v.id);
    return v;
  }

  setLocalState(state: { config_version?: number; config_hash?: string | null }): void {
    this.membership.setLocalState(state);
  }

  noteLocalState(state: { config_version?: number; config_hash?: string | null }): void {
    this.membership.noteLocalState(state);
  }

  on<K extends keyof MembershipEvents>(event: K, listener: (...args: MembershipEvents[K]) => void): this {
    this.membership.on(event, listener as never);
    return this;
  }

  off<K extends keyof MembershipEvents>(event: K, listener: (...args: MembershipEvents[K]) => void): this {
    this.membership.off(event, listener as never);
    return this;
  }

  async publish(topic: string, data: Uint8Array): Promise<void> {
    if (topic === MEMBERSHIP_TOPIC) throw new Error(`topic ${topic} is reserved for membership`);
    await this.libp2p.services.pubsub.publish(topic, data);
  }

  /** Messages on `topic` from live members (signed; anything else is dropped by the validator). */
  subscribe(topic: string, handler: GossipHandler): () => void {
    if (topic === MEMBERSHIP_TOPIC) throw new Error(`topic ${topic} is reserved for membership`);
    let set = this.handlers.get(topic);
    if (!set) {
      set = new Set();
      this.handlers.set(topic, set);
      const pubsub = this.libp2p.services.pubsub;
      pubsub.topicValidators.set(topic, (_src, msg) => {
        if (msg.type !== 'signed') return refuse('signature', TopicValidatorResult.Reject);
        const m = this.membership.table.byPeerId(msg.from.toString());
        return m && (m.status === 'alive' || m.status === 'suspect') ? TopicValidatorResult.Accept : refuse('not_member', TopicValidatorResult.Ignore);
      });
      pubsub.subscribe(topic);
    }
    set.add(handler);
    return () => {
      set.delete(handler);
    };
  }

  dispatch(topic: string, data: Uint8Array, fromPeer: string): void {
    const set = this.handlers.get(topic);
    if (!set?.size) return;
    const m = this.membership.table.byPeerId(fromPeer);
    if (!m) return;
    const view = toView(m, this.nodeId, Date.now());
    for (const h of set) {
      try {
        h(data, view);
      } catch (err) {
        this.log.error({ topic, err: (err as Error).message }, 'cluster: gossip handler failed');
      }
    }
  }

  /** The partition switch: refuse to talk to these peers (ids, addresses, names) from now on. */
  async setBlocked(list: Iterable<string>): Promise<string[]> {
    this.blocklist.set(list);
    await this.hangUpBlocked();
    return this.blocklist.list();
  }

  blocked(): string[] {
    return this.blocklist.list();
  }

  async hangUpBlocked(): Promise<void> {
    await Promise.all(this.blocklist.blockedPeerIds().map((id) => this.libp2p.hangUp(peerIdFromString(id)).catch(() => {})));
  }

  /**
   * Graceful by default: gossip `left`, give it cluster_leave_timeout to spread, drop this
   * node's cluster_nodes row. `{ leave: false }` just goes away, as a crash would.
   */
  async stop(opts: { leave?: boolean } = {}): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    const leave = opts.leave ?? true;
    if (leave) {
      await this.membership.leave();
      if (this.settings.leave_timeout_ms > 0) await new Promise((r) => setTimeout(r, this.settings.leave_timeout_ms));
    }
    this.membership.stop();
    this.watch.stop();
    await this.discovery.stop(leave);
    await this.libp2p.stop();
  }
}

/** Counts a refused gossip message (metrics.ts lists the reasons) and passes on the validator's verdict. */
function refuse(reason: RefusalReason, result: TopicValidatorResult): TopicValidatorResult {
  countRefusal(reason);
  return result;
}

function isLiveMember(peerId: string, membership: Membership): boolean {
  const m = membership.table.byPeerId(peerId);
  return !!m && (m.status === 'alive' || m.status === 'suspect');
}

/** Validate a membership gossip message against its signer: members speak only for themselves. */
function validGossip(msg: GossipMessage, signer: string, membership: Membership): boolean {
  if (!msg || typeof msg !== 'object') return false;
  switch (msg.t) {
    case 'alive':
      // Its own announcement, or a member relaying what it learned in a push-pull.
      return isMemberInfo(msg.m) && (msg.m.peer_id === signer || isLiveMember(signer, membership));
    case 'left':
      return isMemberInfo(msg.m) && msg.m.peer_id === signer;
    case 'suspect':
    case 'failed':
    case 'forget': {
      if (typeof msg.id !== 'string' || typeof msg.inc !== 'number' || typeof msg.from !== 'string') return false;
      const accuser = membership.table.get(msg.from);
      return !!accuser && accuser.peer_id === signer;
    }
    default:
      return false;
  }
}

/** This node's own record, as the membership first announces it. */
function selfInfo(o: StartClusterOptions, libp2p: ClusterLibp2p, advertise: HostPort): MemberInfo {
  return {
    id: o.nodeId,
    name: o.nodeName,
    peer_id: libp2p.peerId.toString(),
    address: o.memoryName ? `memory:${o.memoryName}` : `${advertise.host}:${advertise.port}`,
    addresses: libp2p.getMultiaddrs().map(String),
    role: o.role,
    version: o.version,
    config_version: o.config_version ?? 0,
    config_hash: o.config_hash ?? null,
    incarnation: 0,
  };
}

/** The membership over this libp2p host: gossip on the membership topic, connections, the peer store. */
function createMembership(self: MemberInfo, libp2p: ClusterLibp2p, blocklist: Blocklist, settings: MembershipSettings, log: Logger): Membership {
  const pubsub = libp2p.services.pubsub;
  const membership = new Membership({
    self,
    settings,
    logger: log,
    publish: async (msg) => {
      await pubsub.publish(MEMBERSHIP_TOPIC, encode(msg));
    },
    connections: {
      peers: (olderThanMs) => {
        const before = Date.now() - olderThanMs;
        return [...new Set(libp2p.getConnections().filter((c) => c.timeline.open < before).map((c) => c.remotePeer.toString()))];
      },
      hangUp: (peerId) => void libp2p.hangUp(peerIdFromString(peerId)).catch(() => {}),
    },
    learnAddresses: (m: Member) => {
      const multiaddrs = m.addresses.flatMap((a) => {
        try {
          return [multiaddr(a).decapsulateCode(421)];
        } catch {
          return [];
        }
      });
      if (multiaddrs.length) void libp2p.peerStore.merge(peerIdFromString(m.peer_id), { multiaddrs }).catch(() => {});
      blocklist.refresh();
    },
  });
  blocklist.setResolver((entry) => {
    const m = membership.table.find(entry);
    return m ? [m.peer_id] : [];
  });
  membership.transport = createProbeTransport(libp2p, {
    pushPull: (msg, from) => membership.handlePushPull(msg, from.toString()),
    isMember: (pid) => isLiveMember(pid, membership),
  }, settings.dial_timeout_ms);
  return membership;
}

/** Finding peers: cluster_peers seeds and, in DB modes, the cluster_nodes registry this node keeps its row in. */
function createDiscovery(o: StartClusterOptions, libp2p: ClusterLibp2p, membership: Membership, settings: MembershipSettings): Discovery {
  const startedAt = new Date();
  return new Discovery({
    libp2p,
    membership,
    store: o.store,
    seeds: o.peers,
    settings,
    logger: o.logger,
    registration: (): ClusterNodeRegistration => {
      const me = membership.self;
      return {
        id: me.id,
        name: me.name,
        peer_id: me.peer_id,
        addresses: me.addresses,
        role: me.role,
        version: me.version,
        config_version: me.config_version,
        config_hash: me.config_hash,
        started_at: startedAt,
      };
    },
  });
}

/** Membership gossip goes to the membership (checked against its signer first); every other topic to the cluster's handlers. */
function routeGossip(libp2p: ClusterLibp2p, membership: Membership, cluster: Cluster, log: Logger): void {
  const pubsub = libp2p.services.pubsub;
  pubsub.topicValidators.set(MEMBERSHIP_TOPIC, (_src, msg) => {
    if (msg.type !== 'signed') return refuse('signature', TopicValidatorResult.Reject);
    if (msg.data.length > MAX_MEMBERSHIP_MESSAGE_BYTES) return refuse('oversized', TopicValidatorResult.Reject);
    let m: GossipMessage;
    try {
      m = decode<GossipMessage>(msg.data);
    } catch {
      return refuse('malformed', TopicValidatorResult.Reject);
    }
    return validGossip(m, msg.from.toString(), membership) ? TopicValidatorResult.Accept : refuse('forged', TopicValidatorResult.Ignore);
  });
  countGossipRefusals(pubsub, (peerId) => isLiveMember(peerId, membership));
  pubsub.addEventListener('message', (evt) => {
    const msg = evt.detail;
    if (msg.type !== 'signed') return;
    if (msg.topic === MEMBERSHIP_TOPIC) {
      try {
        membership.handleGossip(decode<GossipMessage>(msg.data));
      } catch (err) {
        log.debug({ err: (err as Error).message }, 'cluster: bad membership message');
      }
    } else {
      cluster.dispatch(msg.topic, msg.data, msg.from.toString());
    }
  });
  pubsub.subscribe(MEMBERSHIP_TOPIC);
}

/**
 * Liveness pings for the connections the membership protocol does not watch, and the
 * membership's failed verdicts closing a member's connections (connection-watch.ts says why
 * this replaces libp2p's connection monitor).
 */
function watchConnections(libp2p: ClusterLibp2p, membership: Membership, settings: MembershipSettings, log: Logger): ConnectionWatch {
  const interval = settings.connection_ping_interval_ms;
  const watch = new ConnectionWatch({
    libp2p,
    watched: (peerId) => isLiveMember(peerId, membership),
    intervalMs: interval,
    timeoutMs: interval * 3,
    onClosed: (peerId, err) => log.debug({ peer: peerId, err: err.message }, 'cluster: closed a connection to a non-member that stopped answering pings'),
  });
  membership.on('member-failed', (v) => watch.hangUp(v.peer_id, `member ${v.name} failed`));
  return watch;
}

export async function startCluster(o: StartClusterOptions): Promise<Cluster> {
  const settings: MembershipSettings = { ...defaultSettings, ...o.settings };
  const log = o.logger;
  const privateKey = o.privateKey ?? (await loadOrCreateIdentity(o.prefix));
  const blocklist = new Blocklist(o.blockedPeers ?? []);
  const { libp2p, advertise } = await createHost({
    privateKey,
    listen: o.listen,
    advertise: o.advertise,
    psk: o.psk,
    ...(o.tls ? { tls: o.tls } : {}),
    blocklist,
    dialTimeoutMs: settings.dial_timeout_ms,
    gossipHeartbeatMs: settings.gossip_interval_ms,
    memoryName: o.memoryName,
    plaintext: o.plaintext,
  });
  const self = selfInfo(o, libp2p, advertise);
  const membership = createMembership(self, libp2p, blocklist, settings, log);
  const discovery = createDiscovery(o, libp2p, membership, settings);
  const watch = watchConnections(libp2p, membership, settings, log);
  const cluster: Cluster = new Cluster(libp2p, membership, discovery, blocklist, settings, log, watch);

  routeGossip(libp2p, membership, cluster, log);
  libp2p.addEventListener('peer:disconnect', (evt) => membership.onDisconnect(evt.detail.toString()));
  membership.on('member-joined', () => void cluster.hangUpBlocked());
  membership.on('member-forgotten', (m) => discovery.forget(m.id));

  membership.start();
  watch.start();
  log.info({ peer_id: self.peer_id, addresses: self.addresses, listen: o.listen.map((l) => `${l.host}:${l.port}`) }, 'cluster: libp2p host started');
  await discovery.start();
  membership.announce();
  return cluster;
}
