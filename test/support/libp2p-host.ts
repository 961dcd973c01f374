// A real libp2p host of the cluster's stack (TCP on 127.0.0.1, noise, yamux, pnet, gossipsub)
// on a free port, for tests that need two or three of them in one process.
import { generateKeyPair } from '@libp2p/crypto/keys';
import { createHost, type ClusterLibp2p } from '../../src/cluster/host.ts';
import { Blocklist } from '../../src/cluster/partition.ts';
import { freePort } from '../../src/db/embedded.ts';

export async function startTestHost(psk: Uint8Array, gossipHeartbeatMs = 200): Promise<ClusterLibp2p> {
  const port = await freePort();
  const { libp2p } = await createHost({
    privateKey: await generateKeyPair('Ed25519'),
    listen: [{ host: '127.0.0.1', port }],
    advertise: { host: '127.0.0.1', port },
    psk,
    blocklist: new Blocklist(),
    dialTimeoutMs: 2000,
    gossipHeartbeatMs,
  });
  return libp2p;
}
