// Why a cluster dial failed, in the words an operator needs. libp2p reports a peer holding a
// different private-network key only as an encryption (noise handshake) failure. With
// cluster_mtls = pki, a certificate either side refuses is a TLS error or alert.

export function describeDialError(err: unknown): string {
  const seen = new Set<unknown>();
  const found: string[] = [];
  const walk = (e: unknown): void => {
    if (!e || typeof e !== 'object' || seen.has(e)) return;
    seen.add(e);
    const x = e as { name?: string; code?: string; message?: string; errors?: unknown[]; cause?: unknown };
    const name = x.name ?? '';
    const msg = x.message ?? '';
    if (x.code === 'ERR_CLUSTER_CERTIFICATE' || /alert (bad certificate|unknown ca|certificate)|certificate required/i.test(msg)) found.push(`TLS certificate refused (cluster_mtls = pki): ${msg.split('\n')[0]}`);
    else if (/Encryption|InvalidCryptoExchange|UnexpectedEOF|pnet|psk/i.test(name) || /encrypt|decrypt|psk|nonce/i.test(msg)) found.push('peer does not share the cluster key');
    else if (x.code === 'ECONNREFUSED' || /ECONNREFUSED/.test(msg)) found.push('connection refused');
    else if (x.code === 'EHOSTUNREACH' || x.code === 'ENETUNREACH') found.push('host unreachable');
    else if (x.code === 'ENOTFOUND' || x.code === 'EAI_AGAIN') found.push('host not found');
    else if (/DialDenied/i.test(name) || /denied/i.test(msg)) found.push('blocked by this node (test partition)');
    else if (/Timeout|Abort/i.test(name) || /timed out|timeout|aborted/i.test(msg)) found.push('timed out');
    if (Array.isArray(x.errors)) x.errors.forEach(walk);
    walk(x.cause);
    if (!found.length && msg) found.push(msg.split('\n')[0]!);
  };
  walk(err);
  // The most telling cause first: a key mismatch explains a timeout, not the other way round.
  const certificate = found.find((f) => f.startsWith('TLS certificate refused'));
  if (certificate) return certificate;
  for (const pref of ['peer does not share the cluster key', 'connection refused', 'host unreachable', 'host not found', 'blocked by this node (test partition)', 'timed out']) {
    if (found.includes(pref)) return pref;
  }
  return found[0] ?? String(err);
}
