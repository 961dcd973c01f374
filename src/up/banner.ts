// What `gossamer up` prints once the cluster is ready: the node table and three examples a
// user can paste as they are (the README and test/up/up-cli.test.ts run them from this output).
export interface NodeRow {
  name: string;
  proxy: string;
  admin: string;
  cluster: string;
  status: string;
}

export function table(rows: NodeRow[]): string {
  const head: NodeRow = { name: 'NAME', proxy: 'PROXY', admin: 'ADMIN API', cluster: 'CLUSTER', status: 'STATUS' };
  const cols = Object.keys(head) as (keyof NodeRow)[];
  const width = Object.fromEntries(cols.map((c) => [c, Math.max(...[head, ...rows].map((r) => r[c].length))])) as Record<keyof NodeRow, number>;
  const line = (r: NodeRow) => cols.map((c) => r[c].padEnd(width[c])).join('  ').trimEnd();
  return [head, ...rows].map(line).join('\n');
}

export interface Examples {
  adminUrl: string;
  balancerUrl: string;
  echoUrl: string;
}

/**
 * PUT makes the first step idempotent (Kong's create-or-update by name), so the examples keep
 * working on every later `npm start` against the same database.
 */
export function exampleCommands(e: Examples): { title: string; commands: string[] }[] {
  return [
    {
      title: `Create a service and a route on node-1's Admin API (the echo server at ${e.echoUrl} is the upstream):`,
      commands: [
        `curl -s -X PUT ${e.adminUrl}/services/echo --data url=${e.echoUrl}`,
        `curl -s -X PUT ${e.adminUrl}/services/echo/routes/echo --data 'paths[]=/echo'`,
      ],
    },
    { title: 'Call it through the load balancer (any node answers):', commands: [`curl -i ${e.balancerUrl}/echo`] },
    { title: 'List the cluster members:', commands: [`curl -s ${e.adminUrl}/cluster/members`] },
  ];
}

export function examplesText(e: Examples): string {
  return exampleCommands(e)
    .map((s, i) => [`  ${i + 1}. ${s.title}`, ...s.commands.map((c) => `       ${c}`)].join('\n'))
    .join('\n');
}
