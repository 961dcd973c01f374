// Ports for the simulated nodes, taken below Linux's ephemeral range (32768-60999): a port
// from freePort() (port 0) is only free until someone binds it, and every outgoing connection
// of every process on the machine draws from that range, so a node booting a few seconds later
// could find its port taken. Below the range only another explicit bind can collide.
import fs from 'node:fs';
import net from 'node:net';

const LOW = 20_000;

function ephemeralLow(): number {
  try {
    return Number(fs.readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]) || 32_768;
  } catch {
    return 32_768;
  }
}

const taken = new Set<number>();

function canBind(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.unref();
    srv.once('error', () => resolve(false));
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
  });
}

/** A port nobody listens on, outside the ephemeral range, not handed out before by this process. */
export async function simPort(): Promise<number> {
  const high = Math.max(LOW + 1000, ephemeralLow());
  for (let i = 0; i < 200; i++) {
    const port = LOW + Math.floor(Math.random() * (high - LOW));
    if (taken.has(port)) continue;
    if (await canBind(port)) {
      taken.add(port);
      return port;
    }
  }
  throw new Error(`no free port found between ${LOW} and ${high}`);
}
