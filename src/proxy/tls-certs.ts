// Certificates for proxy_listen entries with the `ssl` flag: Kong's ssl_cert / ssl_cert_key
// (parallel lists of PEM files or inline PEM), or, when both are empty, a self-signed default
// made once under <prefix>/ssl/ and reused on every start, as Kong does with kong-default.crt.
import { createPrivateKey, X509Certificate } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { generateClusterCert } from '../hybrid/cert.ts';
import { defaultTlsContextSettings, type TlsContextSettings } from './tls-settings.ts';

export interface ProxyTlsSettings {
  /** ssl_cert entries: file paths or PEM text. */
  cert: string[];
  /** ssl_cert_key entries, one per ssl_cert entry. */
  key: string[];
  /** Where the default certificate lives when none is configured. */
  prefix: string;
  /** The ssl_* keys' protocols, ciphers and session settings (Kong's defaults when absent). */
  settings?: TlsContextSettings;
}

/** PEM texts for node:tls (several pairs: RSA and ECDSA, the client's ciphers choose). */
export interface TlsMaterial {
  cert: string[];
  key: string[];
  settings: TlsContextSettings;
}

export const DEFAULT_CERT = 'gossamer-default.crt';
export const DEFAULT_KEY = 'gossamer-default.key';

/** Which keys a listener's pairs come from, and its default pair's file name (Kong has one per listener kind). */
export interface ListenerKeys {
  cert: string;
  key: string;
  /** `<prefix>/ssl/<defaultName>.crt` and `.key`. */
  defaultName: string;
}

export const PROXY_KEYS: ListenerKeys = { cert: 'ssl_cert', key: 'ssl_cert_key', defaultName: 'gossamer-default' };
/** Kong's admin_ssl_cert / admin_ssl_cert_key, and its admin-kong-default.crt. */
export const ADMIN_KEYS: ListenerKeys = { cert: 'admin_ssl_cert', key: 'admin_ssl_cert_key', defaultName: 'admin-gossamer-default' };

function readPem(entry: string, keyName: string, i: number): string {
  if (entry.trimStart().startsWith('-----BEGIN')) return entry;
  try {
    return fs.readFileSync(entry, 'utf8');
  } catch (err) {
    // An entry is a path or PEM text: text that is not quite PEM (a key without its BEGIN line)
    // is not repeated, since it may be a private key; a path is named so it can be fixed.
    const what = /[\r\n]/.test(entry) || entry.length > 512 ? 'text that is neither a file path nor PEM starting with -----BEGIN' : `'${entry}'`;
    throw new Error(`${keyName}: cannot read ${what} (entry ${i + 1}): ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
}

function checkPair(certPem: string, keyPem: string, where: string, n: ListenerKeys): void {
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(certPem);
  } catch (err) {
    throw new Error(`${n.cert} ${where} is not a PEM certificate: ${(err as Error).message}`);
  }
  let key;
  try {
    key = createPrivateKey(keyPem);
  } catch (err) {
    throw new Error(`${n.key} ${where} is not a PEM private key: ${(err as Error).message}`);
  }
  if (!cert.checkPrivateKey(key)) throw new Error(`${n.cert} and ${n.key} ${where} are not a pair (the certificate's public key is not the key's)`);
}

/** The self-signed default, generated on first use (readable by the owner only for the key). */
export function defaultCertificate(prefix: string, n: ListenerKeys = PROXY_KEYS): Omit<TlsMaterial, 'settings'> {
  const dir = path.join(prefix, 'ssl');
  const certFile = path.join(dir, `${n.defaultName}.crt`);
  const keyFile = path.join(dir, `${n.defaultName}.key`);
  if (fs.existsSync(certFile) && fs.existsSync(keyFile)) {
    const pair = { cert: fs.readFileSync(certFile, 'utf8'), key: fs.readFileSync(keyFile, 'utf8') };
    checkPair(pair.cert, pair.key, `(default, ${dir})`, n);
    return { cert: [pair.cert], key: [pair.key] };
  }
  fs.mkdirSync(dir, { recursive: true });
  const pair = generateClusterCert({ commonName: 'localhost', days: 3650 });
  // Written under temporary names and renamed: a crash halfway never leaves a half pair.
  fs.writeFileSync(`${keyFile}.tmp`, pair.key, { mode: 0o600 });
  fs.writeFileSync(`${certFile}.tmp`, pair.cert, { mode: 0o644 });
  fs.renameSync(`${keyFile}.tmp`, keyFile);
  fs.renameSync(`${certFile}.tmp`, certFile);
  return { cert: [pair.cert], key: [pair.key] };
}

/** Reads and checks the configured pairs, or the default certificate when none is set. */
export function loadProxyTls(s: ProxyTlsSettings, n: ListenerKeys = PROXY_KEYS): TlsMaterial {
  if (s.cert.length !== s.key.length) {
    throw new Error(`${n.cert} and ${n.key} must list as many entries (${n.cert} has ${s.cert.length}, ${n.key} ${s.key.length})`);
  }
  const settings = s.settings ?? defaultTlsContextSettings();
  if (s.cert.length === 0) return { ...defaultCertificate(s.prefix, n), settings };
  const out: TlsMaterial = { cert: [], key: [], settings };
  s.cert.forEach((entry, i) => {
    const cert = readPem(entry, n.cert, i);
    const key = readPem(s.key[i]!, n.key, i);
    checkPair(cert, key, `entry ${i + 1}`, n);
    out.cert.push(cert);
    out.key.push(key);
  });
  return out;
}
