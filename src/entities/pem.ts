// Kong's typedefs.certificate / typedefs.key and the checks its TLS entities run on them
// (resty.openssl in Kong, node:crypto here). Messages never repeat the PEM text: a key is a
// secret, and an error body or log line must not carry it.
import { createHash, createPrivateKey, createPublicKey, X509Certificate, type KeyObject } from 'node:crypto';

/** The first line of node's reason, without the PEM it was given. */
function reason(err: unknown): string {
  return String((err as Error)?.message ?? err).split('\n')[0]!;
}

export function parseCert(pem: string): X509Certificate | string {
  if (!pem.includes('-----BEGIN')) return 'invalid certificate: x509.new: not a PEM certificate (no BEGIN line)';
  try {
    return new X509Certificate(pem);
  } catch (err) {
    return `invalid certificate: x509.new: ${reason(err)}`;
  }
}

export function parseKey(pem: string): KeyObject | string {
  if (!pem.includes('-----BEGIN')) return 'invalid key: pkey.new: not a PEM private key (no BEGIN line)';
  try {
    return createPrivateKey(pem);
  } catch (err) {
    return `invalid key: pkey.new: ${reason(err)}`;
  }
}

/** Does the certificate carry the key's public half? (Kong compares the two public PEMs.) */
export function certMatchesKey(certPem: string, keyPem: string): boolean {
  try {
    const pub = new X509Certificate(certPem).publicKey.export({ type: 'spki', format: 'der' });
    const fromKey = createPublicKey(createPrivateKey(keyPem)).export({ type: 'spki', format: 'der' });
    return pub.equals(fromKey);
  } catch {
    return false;
  }
}

/** 'rsa', 'ec', 'ed25519'...: what tells an RSA certificate from an ECDSA one. */
export function certKeyType(certPem: string): string | null {
  try {
    return new X509Certificate(certPem).publicKey.asymmetricKeyType ?? null;
  } catch {
    return null;
  }
}

/** Kong's ca_certificates.cert_digest: the SHA-256 of the DER certificate, lowercase hex. */
export function certDigest(certPem: string): string {
  return createHash('sha256').update(new X509Certificate(certPem).raw).digest('hex');
}
