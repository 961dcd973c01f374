// report.html: one self-contained file (inline CSS, inline SVG drawn by inline JS, the data as
// JSON in the page). No external assets, so it opens from a CI artifact or an e-mail.
import fs from 'node:fs';
import type { ReportData } from './data.ts';

const dir = new URL('.', import.meta.url);
const read = (name: string) => fs.readFileSync(new URL(name, dir), 'utf8');

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

export function renderHtml(data: ReportData): string {
  // `<` escaped so no string in the data can close the script element.
  const json = JSON.stringify(data).replace(/</g, '\\u003c');
  const title = `Gossamer chaos report: ${data.scenario} (seed ${data.seed}) — ${data.ok ? 'PASS' : 'FAIL'}`;
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title>
<style>${read('page.css')}</style>
</head>
<body>
<header>
  <h1>${escapeHtml(data.scenario)} <span class="badge ${data.ok ? 'pass' : 'fail'}">${data.ok ? 'PASS' : 'FAIL'}</span></h1>
  <p class="desc">${escapeHtml(data.description)}</p>
  <p class="meta">seed ${data.seed} · started ${escapeHtml(data.startedAt)} · ${(data.durationMs / 1000).toFixed(1)} s ·
  ${data.totals.requests} requests (${data.totals.errors} errors) · ${data.totals.writes} writes (${data.totals.writesAcked} acknowledged) · ${data.totals.probes} probes</p>
</header>
<main>
  <section><h2>Invariants</h2><div id="verdicts"></div></section>
  <section><h2>Timeline</h2><div id="timeline"></div><div id="tip" class="tip" hidden></div></section>
  ${data.notes.length ? `<section><h2>Notes</h2><ul>${data.notes.map((n) => `<li>${escapeHtml(n)}</li>`).join('')}</ul></section>` : ''}
  <section><h2>Fault schedule <small>(seconds after the load started)</small></h2><div id="schedule"></div></section>
  <section><h2>Faults as applied</h2><div id="faults"></div></section>
</main>
<script type="application/json" id="sim-data">${json}</script>
<script>${read('page.js')}</script>
</body>
</html>
`;
}
