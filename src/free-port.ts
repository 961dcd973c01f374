// A free loopback port for a server started next: tests, the simulator and `gossamer up` run many
// servers side by side. Taken at random below Linux's ephemeral range (ip_local_port_range,
// 32768-60999 by default) and checked by binding it: a port the kernel hands out for port 0
// comes from that range, where any outgoing connection made before the server binds (to
// Postgres, an upstream, a peer) may take it as its own local port, and the server's bind then
// fails with EADDRINUSE. Below the range only another explicit bind can collide, and a port is
// never handed out twice by one process.
import fs from 'node:fs';
import net from 'node:net';

const LOW = 20_000;
const taken = new Set<number>();

function ephemeralLow(): number {
  try {
    return Number(fs.readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]) || 32_768;
  } catch {
    return 32_768;
  }
}

function canBind(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.unref();
    srv.once('error', () => resolve(false));
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
  });
}

/** A port nobody listens on, outside the ephemeral range, not handed out before by this process. */
export async function freePort(): Promise<number> {
  const high = Math.max(LOW + 1000, ephemeralLow());
  for (let i = 0; i < 200; i++) {
    const port = LOW + Math.floor(Math.random() * (high - LOW));
    if (taken.has(port)) continue;
    if (await canBind(port)) {
      taken.add(port);
      return port;
    }
  }
  throw new Error(`no free loopback port found between ${LOW} and ${high}`);
}
