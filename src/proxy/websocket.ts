// WebSocket (and any other Upgrade) requests. undici forwards plain HTTP at about twice
// http-proxy's requests per CPU-second, but it does not relay upgraded connections; http-proxy's
// `ws` support does exactly that (handshake, then a raw bidirectional socket pipe), so upgrades
// go through it after the same routing and access-phase plugins as HTTP requests.
import type { ClientRequest, IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import httpProxy from 'http-proxy';
import { VIA } from './version.ts';

const RESPONSE_HOP = new Set(['connection', 'keep-alive', 'transfer-encoding', 'upgrade', 'proxy-connection', 'trailer']);

/**
 * An upstream that answers an Upgrade request without switching protocols (a 200, a 404): the
 * answer goes back as an ordinary response, its body delimited by closing the connection.
 * http-proxy's own handler would write the upstream's `Transfer-Encoding: chunked` over the
 * body it already de-chunked, which no client can read.
 */
function relayPlainResponse(res: IncomingMessage, socket: Duplex): void {
  const lines = [`HTTP/1.1 ${res.statusCode} ${res.statusMessage}`];
  const raw = res.rawHeaders;
  let via: string | undefined;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!.toLowerCase();
    if (name === 'via') via = via === undefined ? raw[i + 1] : `${via}, ${raw[i + 1]}`;
    else if (!RESPONSE_HOP.has(name)) lines.push(`${raw[i]}: ${raw[i + 1]}`);
  }
  lines.push(`Via: ${via ? `${via}, ${VIA}` : VIA}`, 'Connection: close', '', '');
  socket.write(lines.join('\r\n'));
  res.pipe(socket);
}

export class WebSocketRelay {
  private readonly proxy = httpProxy.createProxyServer({ ws: true, xfwd: false });

  constructor() {
    // Errors on either socket of an upgraded connection must never reach the process.
    this.proxy.on('error', (_err, _req, res) => {
      const sock = res as unknown as Duplex | undefined;
      if (sock && typeof sock.destroy === 'function') sock.destroy();
    });
    // http-proxy adds its 'response' listener right after this event, and the answer cannot
    // come before the request is sent: a microtask later, ours replaces it.
    this.proxy.on('proxyReqWs', (proxyReq: ClientRequest, _req: IncomingMessage, socket: Duplex) => {
      queueMicrotask(() => {
        proxyReq.removeAllListeners('response');
        proxyReq.on('response', (res: IncomingMessage) => relayPlainResponse(res, socket));
      });
    });
  }

  relay(req: IncomingMessage, socket: Duplex, head: Buffer, target: string, headers: Record<string, string>): void {
    // One Via, the client's entries first (as for HTTP requests).
    const via = req.headers.via ? `${req.headers.via}, ${VIA}` : VIA;
    this.proxy.ws(req, socket, head, { target, headers: { ...headers, via }, changeOrigin: false, prependPath: false });
  }

  close(): void {
    this.proxy.close();
  }
}
