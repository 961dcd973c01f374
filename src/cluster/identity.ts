import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { PrivateKey } from '@libp2p/interface';

// A node keeps who it is across restarts: the libp2p key (so peers and the cluster_nodes
// row keep the same peer id) and the node id (Kong keeps its node id in the prefix too).

/** The libp2p private key under `<prefix>/cluster/identity.key`, created on first start. */
export async function loadOrCreateIdentity(prefix: string): Promise<PrivateKey> {
  // Loaded here, not at the top: the node id and pskFromSecret are needed on a data plane's
  // path to serving, the libp2p key only once the cluster starts.
  const { generateKeyPair, privateKeyFromProtobuf, privateKeyToProtobuf } = await import('@libp2p/crypto/keys');
  const file = path.join(prefix, 'cluster', 'identity.key');
  if (fs.existsSync(file)) {
    try {
      return privateKeyFromProtobuf(fs.readFileSync(file));
    } catch (err) {
      throw new Error(`cannot read the cluster identity ${file}: ${(err as Error).message} (delete it to generate a new peer id)`);
    }
  }
  const key = await generateKeyPair('Ed25519');
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  fs.writeFileSync(file, privateKeyToProtobuf(key), { mode: 0o600 });
  return key;
}

/** The node id (uuid) under `<prefix>/node_id`, created on first start. */
export function loadOrCreateNodeId(prefix: string): string {
  const file = path.join(prefix, 'node_id');
  if (fs.existsSync(file)) {
    const id = fs.readFileSync(file, 'utf8').trim();
    if (/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(id)) return id;
    throw new Error(`${file} does not hold a uuid ('${id.slice(0, 40)}'); delete it to generate a new node id`);
  }
  const id = randomUUID();
  fs.mkdirSync(prefix, { recursive: true });
  fs.writeFileSync(file, id + '\n');
  return id;
}

/** The libp2p private-network key file format (`/key/swarm/psk/1.0.0/`) from the 64-hex cluster secret. */
export function pskFromSecret(hex: string): Uint8Array {
  const secret = hex.trim().toLowerCase();
  if (!/^[0-9a-f]{64}$/.test(secret)) throw new Error('cluster_secret must be 64 hexadecimal characters (32 bytes)');
  return new TextEncoder().encode(`/key/swarm/psk/1.0.0/\n/base16/\n${secret}`);
}
