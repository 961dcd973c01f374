// PEM fixtures for TLS tests, as Kong's spec/fixtures/ssl.lua names them: RSA pairs `cert`/`key`
// and `cert_alt`/`key_alt`, ECDSA pairs `cert_ecdsa`/`key_ecdsa` and `cert_alt_ecdsa`/
// `key_alt_ecdsa`, CA certificates (a valid one, a second one, an expired one); the leaf pairs are not CAs, and
// fresh self-signed pairs for a given name made with the openssl CLI.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const dir = path.join(import.meta.dirname, 'tls');
const read = (f: string) => fs.readFileSync(path.join(dir, f), 'utf8');

export const ssl = {
  cert: read('cert.crt'),
  key: read('cert.key'),
  cert_alt: read('cert-alt.crt'),
  key_alt: read('cert-alt.key'),
  cert_ecdsa: read('cert-ecdsa.crt'),
  key_ecdsa: read('cert-ecdsa.key'),
  cert_alt_ecdsa: read('cert-alt-ecdsa.crt'),
  key_alt_ecdsa: read('cert-alt-ecdsa.key'),
  cert_ca: read('ca.crt'),
  cert_ca2: read('ca2.crt'),
  cert_ca_expired: read('ca-expired.crt'),
};

/** A new self-signed pair whose CN and SAN are `name` ('rsa' or 'ec' key). */
export function selfSigned(name: string, type: 'rsa' | 'ec' = 'rsa'): { cert: string; key: string } {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'gossamer-tls-'));
  try {
    const keyArgs = type === 'rsa' ? ['-newkey', 'rsa:2048'] : ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1'];
    execFileSync('openssl', ['req', '-x509', ...keyArgs, '-nodes', '-keyout', path.join(tmp, 'k'), '-out', path.join(tmp, 'c'), '-days', '30', '-subj', `/CN=${name}`, '-addext', `subjectAltName=DNS:${name}`, '-addext', 'basicConstraints=critical,CA:FALSE'], { stdio: 'ignore' });
    return { cert: fs.readFileSync(path.join(tmp, 'c'), 'utf8'), key: fs.readFileSync(path.join(tmp, 'k'), 'utf8') };
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}
