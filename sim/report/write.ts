// Writes report.json (the whole history, re-judgeable) and report.html next to it.
import fs from 'node:fs';
import path from 'node:path';
import type { CheckResult } from '../checker/index.ts';
import type { History } from '../history.ts';
import { appliedFaults } from '../nemesis/compare.ts';
import type { FaultStep, Scenario } from '../scenario.ts';
import { reportData } from './data.ts';
import { renderHtml } from './html.ts';

export interface ReportFiles {
  json: string;
  html: string;
}

export function writeReport(outDir: string, h: History, result: CheckResult, scenario: Scenario, schedule: FaultStep[], notes: string[]): ReportFiles {
  fs.mkdirSync(outDir, { recursive: true });
  const json = path.join(outDir, 'report.json');
  const html = path.join(outDir, 'report.html');
  fs.writeFileSync(json, JSON.stringify({ scenario, schedule, faults: appliedFaults(h), result, notes, history: h }, null, 0));
  fs.writeFileSync(html, renderHtml(reportData(h, result, { description: scenario.description, schedule, notes })));
  return { json, html };
}
