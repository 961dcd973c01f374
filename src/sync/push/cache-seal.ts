// Encryption at rest of the data plane's configuration cache (<prefix>/dp-cache): the
// configuration holds certificates' private keys and credentials. Each LevelDB value is
// sealed with AES-256-GCM under a key derived from cluster_cert_key (HKDF-SHA256 over the
// key's PKCS#8 DER, with its own salt and info, so it is unrelated to the cluster's
// private-network key derived from the same bytes). The record's name is the additional
// authenticated data: a value moved to another record does not open.
//
// A sealed value: "GSC1" | 12-byte IV | ciphertext | 16-byte tag.
import { createCipheriv, createDecipheriv, hkdfSync, randomBytes, type KeyObject } from 'node:crypto';

const MAGIC = Buffer.from('GSC1');
const IV = 12;
const TAG = 16;

/** The cache key of a cluster_cert_key. */
export function cacheKeyFrom(key: KeyObject): Buffer {
  const der = key.export({ type: 'pkcs8', format: 'der' });
  return Buffer.from(hkdfSync('sha256', der, 'gossamer-dp-cache', 'gossamer-dp-cache-aes-256-gcm', 32));
}

export class CacheSealError extends Error {
  override name = 'CacheSealError';
}

export class CacheSeal {
  constructor(private readonly key: Buffer) {
    if (key.length !== 32) throw new Error('the cache key must be 32 bytes');
  }

  static isSealed(value: Uint8Array): boolean {
    return value.length >= MAGIC.length + IV + TAG && Buffer.from(value.buffer, value.byteOffset, MAGIC.length).equals(MAGIC);
  }

  seal(record: string, plain: Uint8Array): Uint8Array {
    const iv = randomBytes(IV);
    const cipher = createCipheriv('aes-256-gcm', this.key, iv);
    cipher.setAAD(Buffer.from(record, 'utf8'));
    const body = Buffer.concat([cipher.update(plain), cipher.final()]);
    return Buffer.concat([MAGIC, iv, body, cipher.getAuthTag()]);
  }

  /** The plain bytes; throws CacheSealError when the value was sealed under another key, for another record, or altered. */
  open(record: string, value: Uint8Array): Uint8Array {
    const b = Buffer.from(value.buffer, value.byteOffset, value.byteLength);
    if (!CacheSeal.isSealed(b)) throw new CacheSealError(`record ${record} is not encrypted`);
    const iv = b.subarray(MAGIC.length, MAGIC.length + IV);
    const tag = b.subarray(b.length - TAG);
    const decipher = createDecipheriv('aes-256-gcm', this.key, iv);
    decipher.setAAD(Buffer.from(record, 'utf8'));
    decipher.setAuthTag(tag);
    try {
      return Buffer.concat([decipher.update(b.subarray(MAGIC.length + IV, b.length - TAG)), decipher.final()]);
    } catch {
      throw new CacheSealError(`record ${record} does not decrypt with the key derived from this node's cluster_cert_key (written with another key, or altered)`);
    }
  }
}
