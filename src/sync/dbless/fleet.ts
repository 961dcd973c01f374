// Beyond Kong: the DB-less nodes of one cluster (same cluster certificate) converge on the newest
// configuration, so a fleet is configured with one POST /config to any of them. Every node
// announces its config_version and config_hash through membership (src/cluster/); a node that
// sees a DB-less member announce a newer configuration fetches it from that member over
// /gossamer/dbless-config/1.0.0, checks it, and replaces its own with it.
//
// Which configuration is newest: the higher config_version, then (same version) the higher
// config_hash, so every node picks the same one. A configuration's version is when it was
// written: the POST /config's time on the node that took it (at least one above what that node
// held), or the modification time of a declarative_config file read at start. Two POSTs to two
// nodes at about the same time: both nodes apply their own, then both take the later one; the
// earlier is lost, as a write overwritten by a later write is. Clocks matter: a node whose clock
// runs ahead wins ties it should not (keep clocks in sync, as for any cluster).
//
// What travels is signed: an HMAC-SHA256 over version, hash and the bytes, keyed from the
// cluster key (which only holders of cluster_cert_key have; the private network already keeps
// others out). A configuration whose signature or config_hash does not check out is refused
// and logged; the node keeps serving what it has.
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { multiaddr } from '@multiformats/multiaddr';
import type { Cluster, MemberView } from '../../cluster/index.ts';
import type { Logger } from '../../log.ts';
import { configHash } from '../../cache/config-hash.ts';
import { decodeSnapshot, packMessage, unpackMessage } from '../codec.ts';
import { MAX_RESPONSE } from '../push/protocol.ts';
import { readAll, writeAll } from '../../cluster/stream-io.ts';
import type { ConfigOrigin, DblessConfig } from './dbless-config.ts';

export const DBLESS_CONFIG_PROTOCOL = '/gossamer/dbless-config/1.0.0';
export const DBLESS_ROLE = 'dbless';
const CHECK_EVERY_MS = 500;
const FETCH_TIMEOUT_MS = 60_000;

type Offer =
  | { t: 'config'; config_version: number; config_hash: string; origin: ConfigOrigin; data: Uint8Array; sig: Uint8Array }
  | { t: 'none' };

/** Is `a` newer than `b`? (version, then hash: every node decides alike.) */
export function newer(a: { version: number; hash: string }, b: { version: number; hash: string }): boolean {
  return a.version > b.version || (a.version === b.version && a.hash > b.hash);
}

function signature(key: Buffer, version: number, hash: string, data: Uint8Array): Buffer {
  const digest = createHash('sha256').update(data).digest('hex');
  return createHmac('sha256', key).update(`${version}|${hash}|${digest}`).digest();
}

export class DblessFleet {
  private readonly key: Buffer;
  private timer: NodeJS.Timeout | null = null;
  private fetching = false;
  /** Offers refused (bad signature or hash), by member and version: not fetched again and again. */
  private readonly refused = new Set<string>();

  constructor(private readonly o: { cluster: Cluster; holder: DblessConfig; psk: Uint8Array; log: Logger }) {
    this.key = createHash('sha256').update('gossamer dbless-config signing key\0').update(o.psk).digest();
  }

  async start(): Promise<void> {
    const { cluster, holder } = this.o;
    await cluster.libp2p.handle(
      DBLESS_CONFIG_PROTOCOL,
      async (stream) => {
        try {
          const p = holder.packed();
          const data = await p.bytes;
          const offer: Offer = { t: 'config', config_version: p.version, config_hash: p.hash, origin: p.origin, data, sig: signature(this.key, p.version, p.hash, data) };
          await writeAll(stream, packMessage(offer));
        } catch (err) {
          stream.abort(err as Error);
        }
      },
      { maxInboundStreams: 32, maxOutboundStreams: 8, runOnLimitedConnection: false },
    );
    this.timer = setInterval(() => void this.check(), CHECK_EVERY_MS);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.o.cluster.libp2p.unhandle(DBLESS_CONFIG_PROTOCOL).catch(() => {});
  }

  /** The newest configuration a live DB-less member announces, if newer than this node's. */
  private best(): MemberView | null {
    const mine = { version: this.o.holder.configVersion(), hash: this.o.holder.configHash() };
    let best: MemberView | null = null;
    for (const m of this.o.cluster.members()) {
      if (m.self || m.role !== DBLESS_ROLE || m.status !== 'alive' || !m.config_hash) continue;
      const theirs = { version: m.config_version, hash: m.config_hash };
      if (this.refused.has(`${m.peer_id}|${theirs.version}|${theirs.hash}`)) continue;
      if (newer(theirs, mine) && (!best || newer(theirs, { version: best.config_version, hash: best.config_hash! }))) best = m;
    }
    return best;
  }

  private async check(): Promise<void> {
    if (this.fetching) return;
    const m = this.best();
    if (!m) return;
    this.fetching = true;
    try {
      await this.fetchFrom(m);
    } catch (err) {
      this.o.log.warn({ member: m.name, err: (err as Error).message }, 'DB-less: could not fetch a newer configuration from a member; will try again');
    } finally {
      this.fetching = false;
    }
  }

  private async fetchFrom(m: MemberView): Promise<void> {
    const signal = AbortSignal.timeout(FETCH_TIMEOUT_MS);
    const addr = m.addresses[0];
    if (!addr) throw new Error('the member has no address');
    const conn = await this.o.cluster.libp2p.dial(multiaddr(addr), { signal });
    const stream = await conn.newStream(DBLESS_CONFIG_PROTOCOL, { signal });
    let offer: Offer;
    try {
      offer = unpackMessage<Offer>(await readAll(stream, MAX_RESPONSE, signal));
    } finally {
      if (stream.status === 'open') await stream.close().catch(() => {});
    }
    if (offer.t !== 'config') return;
    const refuse = (why: string) => {
      this.refused.add(`${m.peer_id}|${offer.config_version}|${offer.config_hash}`);
      this.o.log.error({ member: m.name, config_version: offer.config_version }, `DB-less: refused the configuration of member ${m.name}: ${why}; still serving this node's own`);
    };
    const sig = Buffer.from(offer.sig);
    const expected = signature(this.key, offer.config_version, offer.config_hash, offer.data);
    if (sig.length !== expected.length || !timingSafeEqual(sig, expected)) return refuse('its signature does not match the cluster key');
    const snapshot = await decodeSnapshot(offer.data);
    if (configHash(snapshot) !== offer.config_hash) return refuse('its entities do not match its config_hash');
    const r = await this.o.holder.replace(snapshot, { ...offer.origin, source: `member ${m.name}` }, offer.config_version);
    if (r.applied) this.o.log.info({ member: m.name, config_version: r.config_version, config_hash: r.config_hash }, `DB-less: took the newer configuration of member ${m.name}`);
  }
}
