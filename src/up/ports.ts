// Port plan of `gossamer up` and the check that runs before anything starts, so a port held
// by another program is reported by name and flag instead of as a half-started cluster.
import net from 'node:net';

export interface UpPorts {
  /** Load balancer (the seed's nginx on :80; here the Kong proxy port users know). */
  balancer: number;
  postgres: number;
  echo: number;
  nodes: NodePorts[];
}

export interface NodePorts {
  name: string;
  proxy: number;
  admin: number;
  cluster: number;
}

/**
 * Node N (1-based) gets base + 10·(N−1) + {0, 1, 5}: proxy, admin, cluster, the last digits
 * of Kong's 8000 / 8001 / 8005. With the default base 8100: node-1 8100/8101/8105,
 * node-2 8110/8111/8115, node-3 8120/8121/8125.
 */
export function nodePorts(basePort: number, count: number): NodePorts[] {
  return Array.from({ length: count }, (_, i) => {
    const b = basePort + 10 * i;
    return { name: `node-${i + 1}`, proxy: b, admin: b + 1, cluster: b + 5 };
  });
}

export interface PortClaim {
  port: number;
  /** What would listen there, e.g. "node-2 Admin API". */
  what: string;
  /** The flag that moves it, e.g. "--base-port". */
  flag: string;
}

export function portClaims(p: UpPorts): PortClaim[] {
  return [
    { port: p.balancer, what: 'load balancer', flag: '--port' },
    { port: p.postgres, what: 'embedded Postgres', flag: '--pg-port' },
    { port: p.echo, what: 'echo upstream', flag: '--echo-port' },
    ...p.nodes.flatMap((n) => [
      { port: n.proxy, what: `${n.name} proxy`, flag: '--base-port' },
      { port: n.admin, what: `${n.name} Admin API`, flag: '--base-port' },
      { port: n.cluster, what: `${n.name} cluster listener`, flag: '--base-port' },
    ]),
  ];
}

/** Whether something already listens on host:port (bind test; EADDRINUSE means taken). */
export function portTaken(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'EADDRINUSE' || err.code === 'EACCES') resolve(true);
      else reject(err);
    });
    srv.listen({ port, host, exclusive: true }, () => srv.close(() => resolve(false)));
  });
}

/** One message per taken port, naming it and the flag that moves it; empty when all are free. */
export async function checkPorts(claims: PortClaim[], host = '127.0.0.1'): Promise<string[]> {
  const problems: string[] = [];
  const seen = new Map<number, PortClaim>();
  for (const c of claims) {
    const dup = seen.get(c.port);
    if (dup) {
      problems.push(`port ${c.port} is planned for both the ${dup.what} and the ${c.what}; change ${c.flag}`);
      continue;
    }
    seen.set(c.port, c);
    if (await portTaken(c.port, host)) {
      problems.push(`port ${c.port} (${c.what}) is already in use by another program; choose another with ${c.flag} <port>`);
    }
  }
  return problems;
}
