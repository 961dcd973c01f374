// Which certificate an `ssl` listener presents, per handshake (Kong's kong/runloop/certificate.lua
// find_certificate): the SNI named exactly, then the prefix wildcard (`*.example.com` for
// `www.example.com`), then the suffix wildcard (`www.example.*`), then an SNI named `*`, then
// the listener's default (ssl_cert or the generated one). A client that sends no server name
// gets the default, as in Kong. A certificate with `cert_alt`/`key_alt` becomes one secure
// context holding both pairs, so OpenSSL presents the RSA or the ECDSA one by what the client
// offers (tls-listener.ts gives each connection its context). Built from the worker's own entity store: a certificate or SNI created, replaced or
// deleted is used from the next handshake on, with no restart.
import tls, { type SecureContext } from 'node:tls';
import type { Logger } from 'pino';
import type { EntityStore, StoreChange } from '../cache/entity-store.ts';
import type { Certificate } from '../entities/types.ts';

const DEFAULT_SNI = '*';

/** Kong's produce_wild_snis: the prefix and suffix wildcard names a server name may match. */
export function wildcardsOf(sni: string): { prefix: string | null; suffix: string | null } {
  const star = sni.indexOf('*');
  let prefix: string | null = null;
  let suffix: string | null = null;
  if (star === 0) prefix = sni;
  else if (star === -1) {
    const m = /^([^.]+)(\.[^.]+\.\S+)/.exec(sni);
    if (m) prefix = `*${m[2]}`;
  }
  if (star !== -1 && star === sni.length - 1) suffix = sni;
  else if (star === -1) {
    const m = /([^.]+\.)([^.]+)$/.exec(sni);
    if (m) suffix = `${sni.slice(0, m.index)}${m[1]}*`;
  }
  return { prefix, suffix };
}

export class SniCertificates {
  /** SNI name → certificate id; null until the next handshake after a change. */
  private names: Map<string, string> | null = null;
  /** certificate id → the context built from that exact entity object (a replaced one is rebuilt). */
  private readonly contexts = new Map<string, { entity: Certificate; ctx: SecureContext | null }>();

  constructor(
    private readonly store: EntityStore,
    private readonly logger?: Logger,
    /** The ssl_* settings every context shares (tls-settings.ts): protocols, ciphers, tickets. */
    private readonly options: tls.SecureContextOptions = {},
  ) {
    store.on('change', (c: StoreChange) => {
      if (c.full || c.entities.has('snis') || c.entities.has('certificates')) this.names = null;
    });
  }

  private nameMap(): Map<string, string> {
    if (this.names) return this.names;
    const names = new Map<string, string>();
    // Server names are case-insensitive: the ClientHello's is lowercased too (client-hello.ts).
    for (const sni of this.store.all('snis')) names.set(sni.name.toLowerCase(), sni.certificate.id);
    for (const id of this.contexts.keys()) if (!this.store.get('certificates', id)) this.contexts.delete(id);
    this.names = names;
    return names;
  }

  /** The certificate id for a server name, or null for the listener's default. */
  certificateFor(servername: string | undefined): string | null {
    if (!servername) return null;
    const names = this.nameMap();
    const { prefix, suffix } = wildcardsOf(servername);
    for (const candidate of [servername, prefix, suffix, DEFAULT_SNI]) {
      const id = candidate && names.get(candidate);
      if (id) return id;
    }
    return null;
  }

  /** The secure context for a server name; undefined means the listener's default. */
  contextFor(servername: string | undefined): SecureContext | undefined {
    const id = this.certificateFor(servername);
    if (!id) return undefined;
    const entity = this.store.get('certificates', id);
    if (!entity) return undefined;
    const cached = this.contexts.get(id);
    if (cached?.entity === entity) return cached.ctx ?? undefined;
    const ctx = this.build(entity);
    this.contexts.set(id, { entity, ctx });
    return ctx ?? undefined;
  }

  private build(c: Certificate): SecureContext | null {
    try {
      const cert = c.cert_alt ? [c.cert, c.cert_alt] : [c.cert];
      const key = c.key_alt ? [c.key, c.key_alt] : [c.key];
      return tls.createSecureContext({ cert, key, ...this.options });
    } catch (err) {
      // The message is OpenSSL's reason, never the PEM: keys stay out of the logs.
      this.logger?.error({ certificate: c.id, err: String((err as Error).message).split('\n')[0] }, 'certificate unusable, serving the default certificate');
      return null;
    }
  }

  /** The context for a server name, or `fallback` (the listener's default) when none applies or it fails. */
  contextOr(servername: string | undefined, fallback: SecureContext): SecureContext {
    try {
      return this.contextFor(servername) ?? fallback;
    } catch (err) {
      this.logger?.error({ err: (err as Error).message }, 'certificate selection failed, serving the default certificate');
      return fallback;
    }
  }
}
