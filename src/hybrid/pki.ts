// Kong's `cluster_mtls = pki`: each control plane and data plane has its own cluster_cert,
// signed by cluster_ca_cert, and every cluster connection is mutual TLS checked against that
// CA (src/cluster/tls-protector.ts). A data plane also checks the name in the certificate of
// the control plane it dials: cluster_server_name, or the host of that cluster_control_plane
// entry (kong/clustering/utils.lua sets server_name so, with ssl_verify on).
import { createPrivateKey, X509Certificate } from 'node:crypto';
import dns from 'node:dns/promises';
import fs from 'node:fs';
import type { ClusterTls } from '../cluster/index.ts';
import type { Config } from '../config/index.ts';
import type { Logger } from '../log.ts';
import { StartError } from '../errors.ts';

type PkiKeys = Pick<Config, 'cluster_role' | 'cluster_cert' | 'cluster_cert_key' | 'cluster_ca_cert' | 'cluster_server_name' | 'cluster_control_plane'>;

function readFile(file: string, keyName: string): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new Error(`cannot read ${keyName} ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
}

/** Every certificate of a PEM file, in order (a leaf may come with its intermediates). */
function certificates(pem: string, keyName: string, where: string): X509Certificate[] {
  const blocks = pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  if (blocks.length === 0) throw new Error(`${keyName} ${where} holds no PEM certificate`);
  return blocks.map((b) => {
    try {
      return new X509Certificate(b);
    } catch (err) {
      throw new Error(`${keyName} ${where} is not a PEM certificate: ${(err as Error).message}`);
    }
  });
}

/** Reads and checks the pki material: a pair, and a chain that ends at the CA. */
function readMaterial(c: PkiKeys): { cert: string; key: string; ca: string } {
  const caInline = c.cluster_ca_cert.trimStart().startsWith('-----BEGIN');
  const ca = caInline ? c.cluster_ca_cert : readFile(c.cluster_ca_cert, 'cluster_ca_cert');
  const cert = readFile(c.cluster_cert, 'cluster_cert');
  const key = readFile(c.cluster_cert_key, 'cluster_cert_key');
  const cas = certificates(ca, 'cluster_ca_cert', caInline ? '(PEM text)' : c.cluster_ca_cert);
  const chain = certificates(cert, 'cluster_cert', c.cluster_cert);
  let privateKey;
  try {
    privateKey = createPrivateKey(key);
  } catch (err) {
    throw new Error(`cluster_cert_key ${c.cluster_cert_key} is not a PEM private key: ${(err as Error).message}`);
  }
  if (!chain[0]!.checkPrivateKey(privateKey)) throw new Error(`cluster_cert ${c.cluster_cert} and cluster_cert_key ${c.cluster_cert_key} are not a pair (the certificate's public key is not the key's)`);
  const top = chain.at(-1)!;
  const signed = cas.some((a) => a.fingerprint256 === top.fingerprint256 || (top.checkIssued(a) && top.verify(a.publicKey)));
  if (!signed) throw new Error(`cluster_cert ${c.cluster_cert} is not signed by cluster_ca_cert (issuer: ${top.issuer.replace(/\n/g, ', ')}); with cluster_mtls = pki every node's certificate must be`);
  return { cert, key, ca };
}

/** host:port of each cluster_control_plane entry, and of each address its host resolves to, → its host. */
async function controlPlaneNames(entries: string[], log: Logger): Promise<Map<string, string>> {
  const names = new Map<string, string>();
  for (const entry of entries) {
    const m = /^\[?([^\]]+?)\]?:(\d+)$/.exec(entry);
    if (!m) continue; // a multiaddr: no host name to check
    const [, host, port] = m as unknown as [string, string, string];
    names.set(`${host}:${port}`, host);
    try {
      for (const a of await dns.lookup(host, { all: true })) names.set(`${a.address}:${port}`, host);
    } catch (err) {
      log.warn({ host, err: (err as Error).message }, 'cluster_control_plane: cannot resolve the host now; its name is checked once it is dialled by name');
    }
  }
  return names;
}

/** A log line per refused address every 30 s, on both sides, as the shared mode's (refusals.ts). */
function refusalLogger(log: Logger, ca: string): NonNullable<ClusterTls['onRefused']> {
  const last = new Map<string, number>();
  return (remote, inbound, why) => {
    const key = inbound ? `in:${remote.replace(/:\d+$/, '')}` : `out:${remote}`;
    const now = Date.now();
    if (now - (last.get(key) ?? 0) < 30_000) return;
    last.set(key, now);
    if (inbound) log.warn({ remote }, `cluster: refused a connection from ${remote}: its certificate is not accepted (${why}); cluster_mtls = pki, cluster_ca_cert ${ca}`);
    else log.warn({ remote }, `cluster: connection to ${remote} refused: TLS handshake failed (${why}); cluster_mtls = pki, cluster_ca_cert ${ca}`);
  };
}

/** The cluster's TLS material for cluster_mtls = pki; throws with the key named when it does not check out. */
export async function loadClusterTls(c: PkiKeys, log: Logger): Promise<ClusterTls> {
  const material = readMaterial(c);
  const names = c.cluster_role === 'data_plane' ? await controlPlaneNames(c.cluster_control_plane, log) : new Map<string, string>();
  const caShown = c.cluster_ca_cert.trimStart().startsWith('-----BEGIN') ? '(PEM text)' : c.cluster_ca_cert;
  return {
    ...material,
    // Only a data plane dialling a control plane checks a name; other cluster connections
    // (a control plane dialling a data plane, membership probes between data planes) check
    // the chain, as every cluster certificate is signed by the same CA.
    serverNameFor: ({ host, port }) => {
      const cpHost = names.get(`${host}:${port}`);
      if (cpHost === undefined) return null;
      return c.cluster_server_name || cpHost;
    },
    onRefused: refusalLogger(log, caShown),
  };
}

/** The pki material when cluster_mtls = pki (undefined for shared); a problem stops the start. */
export async function clusterTlsOf(c: PkiKeys & Pick<Config, 'cluster_mtls'>, log: Logger): Promise<ClusterTls | undefined> {
  if (c.cluster_mtls !== 'pki') return undefined;
  try {
    const t = await loadClusterTls(c, log);
    log.info({ cluster_ca_cert: c.cluster_ca_cert.startsWith('-----') ? '(PEM text)' : c.cluster_ca_cert }, 'cluster: mutual TLS with cluster_ca_cert (cluster_mtls = pki)');
    return t;
  } catch (err) {
    throw new StartError((err as Error).message);
  }
}
