import { Command } from 'commander';
import type { MemberView } from '../cluster/state.ts';
import { addGenCert } from './gen-cert.ts';

// `gossamer cluster members`: the membership table of a running node, from its Admin API.

function ago(iso: string, now: number): string {
  const ms = now - Date.parse(iso);
  if (!Number.isFinite(ms)) return iso;
  if (ms < 1000) return 'now';
  if (ms < 60_000) return `${Math.round(ms / 1000)}s ago`;
  if (ms < 3_600_000) return `${Math.round(ms / 60_000)}m ago`;
  return `${Math.round(ms / 3_600_000)}h ago`;
}

export function formatMembersTable(members: MemberView[], now = Date.now()): string {
  const header = ['NAME', 'ADDRESS', 'ROLE', 'STATUS', 'CONFIG_VERSION', 'CONFIG_HASH', 'LAST_SEEN'];
  const rows = members.map((m) => [
    m.self ? `${m.name} *` : m.name,
    m.address,
    m.role,
    m.status,
    String(m.config_version),
    m.config_hash ? m.config_hash.slice(0, 12) : '-',
    m.self ? 'self' : ago(m.last_seen, now),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd();
  return [line(header), ...rows.map(line)].join('\n');
}

export function clusterCommand(): Command {
  const cmd = new Command('cluster').description('inspect the cluster');
  cmd
    .command('members')
    .description('print the membership table as a node sees it (* marks the node asked)')
    .option('--admin <url>', 'Admin API of the node to ask', 'http://127.0.0.1:8001')
    .option('--json', 'print the raw JSON answer')
    .action(async (opts: { admin: string; json?: boolean }) => {
      const url = new URL('/cluster/members', opts.admin);
      let res: Response;
      try {
        res = await fetch(url, { signal: AbortSignal.timeout(10_000) });
      } catch (err) {
        const cause = (err as { cause?: { code?: string } }).cause?.code ?? (err as Error).message;
        console.error(`Error: cannot reach the Admin API at ${opts.admin}: ${cause}`);
        process.exitCode = 1;
        return;
      }
      const text = await res.text();
      if (!res.ok) {
        console.error(`Error: ${url} answered ${res.status}: ${text.slice(0, 500)}`);
        process.exitCode = 1;
        return;
      }
      const body = JSON.parse(text) as { data: MemberView[]; total: number };
      if (opts.json) {
        console.log(JSON.stringify(body, null, 2));
        return;
      }
      console.log(formatMembersTable(body.data));
      const counts = body.data.reduce<Record<string, number>>((acc, m) => ((acc[m.status] = (acc[m.status] ?? 0) + 1), acc), {});
      console.log(`\n${body.total} members: ${Object.entries(counts).map(([s, n]) => `${n} ${s}`).join(', ')}`);
    });
  addGenCert(cmd);
  return cmd;
}
