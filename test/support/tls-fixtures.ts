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

export interface CaChain {
  /** Root CA (self-signed, the trust anchor). */
  root: string;
  /** Intermediate CA signed by the root. */
  intermediate: string;
  /** Server certificate for IP 127.0.0.1 and DNS localhost, signed directly by the root. */
  direct: { cert: string; key: string };
  /** Server certificate signed by the intermediate (send it with the intermediate). */
  chained: { cert: string; key: string };
  /** Client certificate (CN gossamer-client) signed by the root, for mutual TLS. */
  client: { cert: string; key: string };
}

/** A small PKI made with the openssl CLI: a root, an intermediate, server and client certificates. */
export function caChain(): CaChain {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'gossamer-pki-'));
  const f = (n: string) => path.join(tmp, n);
  const run = (args: string[]) => execFileSync('openssl', args, { stdio: 'ignore' });
  const ext = (name: string, text: string) => (fs.writeFileSync(f(name), text), f(name));
  try {
    run(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', f('root.key'), '-out', f('root.crt'), '-days', '30', '-subj', '/CN=Gossamer Test Root', '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign']);
    const sign = (name: string, subj: string, caName: string, extFile: string) => {
      run(['req', '-new', '-newkey', 'rsa:2048', '-nodes', '-keyout', f(`${name}.key`), '-out', f(`${name}.csr`), '-subj', subj]);
      run(['x509', '-req', '-in', f(`${name}.csr`), '-CA', f(`${caName}.crt`), '-CAkey', f(`${caName}.key`), '-CAcreateserial', '-out', f(`${name}.crt`), '-days', '30', '-extfile', extFile]);
    };
    const caExt = ext('ca.ext', 'basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\n');
    const serverExt = ext('server.ext', 'basicConstraints=CA:FALSE\nsubjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n');
    const clientExt = ext('client.ext', 'basicConstraints=CA:FALSE\nextendedKeyUsage=clientAuth\n');
    sign('intermediate', '/CN=Gossamer Test Intermediate', 'root', caExt);
    sign('direct', '/CN=direct.upstream', 'root', serverExt);
    sign('chained', '/CN=chained.upstream', 'intermediate', serverExt);
    sign('client', '/CN=gossamer-client', 'root', clientExt);
    const read = (n: string) => fs.readFileSync(f(n), 'utf8');
    return {
      root: read('root.crt'),
      intermediate: read('intermediate.crt'),
      direct: { cert: read('direct.crt'), key: read('direct.key') },
      chained: { cert: read('chained.crt'), key: read('chained.key') },
      client: { cert: read('client.crt'), key: read('client.key') },
    };
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}
