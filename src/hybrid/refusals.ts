// A node that holds another cluster key cannot even complete the connection handshake: the
// private-network layer turns its bytes into noise. The dialling side reports it (see
// src/cluster/dial-errors.ts); this makes the accepting side say so too. libp2p reports a
// failed inbound upgrade only to its debug log, so the upgrader's inbound entry point is
// wrapped here, once per host, with a per-address rate limit on the warning.
import type { ClusterLibp2p } from '../cluster/host.ts';
import { describeDialError } from '../cluster/dial-errors.ts';
import type { Logger } from '../log.ts';

interface Upgrader {
  upgradeInbound(maConn: { remoteAddr?: { toOptions(): { host: string; port: number } } }, opts?: unknown): Promise<unknown>;
  __gossamerWrapped?: boolean;
}

export function logRefusedConnections(libp2p: ClusterLibp2p, log: Logger, everyMs = 30_000): void {
  const upgrader = (libp2p as unknown as { components?: { upgrader?: Upgrader } }).components?.upgrader;
  if (!upgrader || typeof upgrader.upgradeInbound !== 'function' || upgrader.__gossamerWrapped) return;
  const original = upgrader.upgradeInbound.bind(upgrader);
  const lastLog = new Map<string, number>();
  upgrader.__gossamerWrapped = true;
  upgrader.upgradeInbound = async (maConn, opts) => {
    try {
      return await original(maConn, opts);
    } catch (err) {
      let host = 'unknown';
      try {
        const o = maConn.remoteAddr!.toOptions();
        host = `${o.host}:${o.port}`;
      } catch {
        /* no address */
      }
      const ip = host.replace(/:\d+$/, '');
      const now = Date.now();
      if (now - (lastLog.get(ip) ?? 0) >= everyMs) {
        lastLog.set(ip, now);
        const raw = describeDialError(err);
        log.warn(
          { remote: host, reason: raw },
          `cluster: refused a connection from ${host}: peer does not share the cluster key (its cluster_cert/cluster_cert_key pair, or cluster secret, differs from this node's)`,
        );
      }
      throw err;
    }
  };
}
