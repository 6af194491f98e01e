import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { SecdrConfig } from '../lib/config/schema';
import type { Step } from '../workflows/steps';

export interface SloResult {
  slo: string;
  limitSeconds: number;
  /** Workflow seconds from restore start; absent when never reached. */
  measuredSeconds?: number;
  /** When the SLO timer fired without the goal reached. */
  breachedAtSeconds?: number;
  met: boolean;
}

export interface RestoreReport {
  workflowId: string;
  cluster: string;
  target: string;
  storage: string;
  snapshot?: string;
  /** Snapshots not used, and why (failed verification, rejected by Vault). */
  skipped: { key: string; reason: string }[];
  startedAt: string;
  finishedAt?: string;
  outcome: 'verified' | 'failed';
  error?: string;
  secretsReadableSeconds?: number;
  wholeRestoreSeconds?: number;
  /** Seconds between the canary write (just before the snapshot) and restore start: the data-loss window. */
  recoveryPointSeconds?: number;
  checks: { name: string; ok: boolean; detail?: string }[];
  slos: SloResult[];
  steps: Step[];
  reportFiles?: { json: string; markdown: string };
}

const fmt = (s?: number) => (s === undefined ? '—' : `${s.toFixed(1)} s`);

export function restoreReportMarkdown(r: RestoreReport): string {
  const lines = [
    `# Vault restore report: ${r.cluster} → ${r.target}`,
    '',
    `- Outcome: **${r.outcome.toUpperCase()}**${r.error ? ` (${r.error})` : ''}`,
    `- Workflow: \`${r.workflowId}\``,
    `- Snapshot used: ${r.snapshot ? `\`${r.snapshot}\`` : 'none'} (storage ${r.storage})`,
    `- Started ${r.startedAt}, finished ${r.finishedAt ?? '—'}`,
    `- Time to secrets readable: ${fmt(r.secretsReadableSeconds)}`,
    `- Whole restore: ${fmt(r.wholeRestoreSeconds)}`,
    `- Recovery point (canary age at restore start): ${fmt(r.recoveryPointSeconds)}`,
    '',
    '## SLOs',
    '',
    '| SLO | limit | measured | result |',
    '| --- | --- | --- | --- |',
    ...r.slos.map((s) => `| ${s.slo} | ${s.limitSeconds} s | ${fmt(s.measuredSeconds)} | ${s.met ? 'met' : `**breached**${s.breachedAtSeconds !== undefined ? ` (timer fired at ${fmt(s.breachedAtSeconds)})` : ''}`} |`),
    '',
    '## Checks',
    '',
    ...(r.checks.length ? r.checks.map((c) => `- [${c.ok ? 'x' : ' '}] ${c.name}${c.detail ? ` (${c.detail})` : ''}`) : ['- none completed']),
    '',
    '## Snapshots skipped',
    '',
    ...(r.skipped.length ? r.skipped.map((s) => `- \`${s.key}\`: ${s.reason}`) : ['- none']),
    '',
    '## Steps',
    '',
    '| step | start | end | outcome | detail |',
    '| --- | --- | --- | --- | --- |',
    ...r.steps.map((s) => `| ${s.name} | ${s.startedAt} | ${s.endedAt ?? '—'} | ${s.outcome ?? 'running'} | ${(s.detail ?? '').replace(/\|/g, '\\|')} |`),
    '',
  ];
  return lines.join('\n');
}

/** Writes reports (JSON + Markdown) into config.reportsDir. */
export function createReportActivities(config: SecdrConfig) {
  return {
    async writeRestoreReport(report: RestoreReport): Promise<{ json: string; markdown: string }> {
      mkdirSync(config.reportsDir, { recursive: true });
      const base = join(config.reportsDir, `restore-${report.cluster}-${report.startedAt.replace(/[:.]/g, '')}`);
      const files = { json: `${base}.json`, markdown: `${base}.md` };
      writeFileSync(files.json, JSON.stringify({ ...report, reportFiles: files }, null, 2));
      writeFileSync(files.markdown, restoreReportMarkdown(report));
      return files;
    },
  };
}
