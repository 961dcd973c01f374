// Shared-mode cluster identity (Kong's `cluster_mtls = shared`): one self-signed certificate
// and key copied to every control plane and data plane. Kong's `kong hybrid gen_cert` makes
// an EC P-384 key and a certificate for CN=kong_clustering valid three years; so do we.
import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, hkdfSync, randomBytes, sign, X509Certificate, type KeyObject } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { pskFromSecret } from '../cluster/identity.ts';
import { cacheKeyFrom } from '../sync/push/cache-seal.ts';
import { bitString, bool, explicit, integer, octetString, oid, seq, set, time, utf8 } from './der.ts';

const ECDSA_SHA384 = '1.2.840.10045.4.3.3';
const COMMON_NAME = '2.5.4.3';
const BASIC_CONSTRAINTS = '2.5.29.19';
const CLUSTER_CN = 'gossamer_clustering';

export interface ClusterCert {
  cert: string;
  key: string;
}

/**
 * A new P-384 key and a self-signed certificate for it (PEM). `commonName` other than the
 * cluster's serves the proxy's default TLS certificate (src/proxy/tls-certs.ts).
 */
export function generateClusterCert(opts: { days?: number; now?: Date; commonName?: string } = {}): ClusterCert {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'secp384r1' });
  const now = opts.now ?? new Date();
  const notAfter = new Date(now.getTime() + (opts.days ?? 1095) * 86_400_000);
  const name = seq(set(seq(oid(COMMON_NAME), utf8(opts.commonName ?? CLUSTER_CN))));
  const sigAlg = seq(oid(ECDSA_SHA384));
  const spki = publicKey.export({ type: 'spki', format: 'der' });
  const serial = randomBytes(16);
  serial[0]! &= 0x7f;
  const tbs = seq(
    explicit(0, integer(2)), // v3
    integer(serial),
    sigAlg,
    name,
    seq(time(now), time(notAfter)),
    name,
    spki,
    explicit(3, seq(seq(oid(BASIC_CONSTRAINTS), bool(true), octetString(seq(bool(true)))))),
  );
  const signature = sign('sha384', tbs, privateKey); // DER ECDSA-Sig-Value, as X.509 wants
  const der = seq(tbs, sigAlg, bitString(signature));
  const cert = `-----BEGIN CERTIFICATE-----\n${der.toString('base64').match(/.{1,64}/g)!.join('\n')}\n-----END CERTIFICATE-----\n`;
  const key = privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
  return { cert, key };
}

/** Write cluster.crt and cluster.key into `dir` (the key readable by its owner only). Refuses to overwrite. */
export function writeClusterCert(dir: string, pair = generateClusterCert()): { cert: string; key: string } {
  fs.mkdirSync(dir, { recursive: true });
  const certFile = path.join(dir, 'cluster.crt');
  const keyFile = path.join(dir, 'cluster.key');
  for (const f of [certFile, keyFile]) if (fs.existsSync(f)) throw new Error(`${f} already exists; remove it first or choose another --out directory`);
  fs.writeFileSync(keyFile, pair.key, { mode: 0o600 });
  fs.writeFileSync(certFile, pair.cert, { mode: 0o644 });
  return { cert: certFile, key: keyFile };
}

export interface ClusterIdentity {
  /** The libp2p private-network key file bytes every holder of the pair derives alike. */
  psk: Uint8Array;
  /** sha256 of the certificate, for logs: an operator compares it across nodes. */
  fingerprint: string;
  /** The key that encrypts a data plane's on-disk configuration cache (cache-seal.ts). */
  cacheKey: Buffer;
}

/**
 * Read cluster_cert + cluster_cert_key, check they belong together, and derive the
 * private-network key: HKDF-SHA256 over the key's PKCS#8 DER. Every node holding the same
 * pair gets the same 32 bytes; nobody without the key can.
 */
export function loadClusterIdentity(certFile: string, keyFile: string): ClusterIdentity {
  const read = (file: string, keyName: string) => {
    try {
      return fs.readFileSync(file);
    } catch (err) {
      throw new Error(`cannot read ${keyName} ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
  };
  const certPem = read(certFile, 'cluster_cert');
  const keyPem = read(keyFile, 'cluster_cert_key');
  let cert: X509Certificate;
  let key: KeyObject;
  try {
    cert = new X509Certificate(certPem);
  } catch (err) {
    throw new Error(`cluster_cert ${certFile} is not a PEM certificate: ${(err as Error).message}`);
  }
  try {
    key = createPrivateKey(keyPem);
  } catch (err) {
    throw new Error(`cluster_cert_key ${keyFile} is not a PEM private key: ${(err as Error).message}`);
  }
  if (!cert.checkPrivateKey(key)) throw new Error(`cluster_cert ${certFile} and cluster_cert_key ${keyFile} are not a pair (the certificate's public key is not the key's)`);
  return { psk: pskFromClusterKey(key), fingerprint: cert.fingerprint256, cacheKey: cacheKeyFrom(key) };
}

export function pskFromClusterKey(key: KeyObject): Uint8Array {
  const der = key.export({ type: 'pkcs8', format: 'der' });
  const secret = Buffer.from(hkdfSync('sha256', der, 'gossamer-cluster', 'gossamer-cluster-psk', 32));
  return pskFromSecret(secret.toString('hex'));
}

/** sha256 of a public key, short: which pair a node uses, without revealing anything. */
export function keyId(key: KeyObject): string {
  return createHash('sha256').update(createPublicKey(key).export({ type: 'spki', format: 'der' })).digest('hex').slice(0, 16);
}
