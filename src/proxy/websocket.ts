// WebSocket (and any other Upgrade) requests. undici forwards plain HTTP at about twice
// http-proxy's requests per CPU-second, but it does not relay upgraded connections; http-proxy's
// `ws` support does exactly that (handshake, then a raw bidirectional socket pipe), so upgrades
// go through it after the same routing and access-phase plugins as HTTP requests.
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import httpProxy from 'http-proxy';
import { VIA } from './version.ts';

export class WebSocketRelay {
  private readonly proxy = httpProxy.createProxyServer({ ws: true, xfwd: false });

  constructor() {
    // Errors on either socket of an upgraded connection must never reach the process.
    this.proxy.on('error', (_err, _req, res) => {
      const sock = res as unknown as Duplex | undefined;
      if (sock && typeof sock.destroy === 'function') sock.destroy();
    });
  }

  relay(req: IncomingMessage, socket: Duplex, head: Buffer, target: string, headers: Record<string, string>): void {
    this.proxy.ws(req, socket, head, { target, headers: { ...headers, via: VIA }, changeOrigin: false, prependPath: false });
  }

  close(): void {
    this.proxy.close();
  }
}
