import { isRestoreReport, type RestoreReport } from './restore';
import type { ProcedureReport } from './types';

const fmt = (s?: number) => (s === undefined ? '—' : `${s.toFixed(1)} s`);
const cell = (s: string) => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');

/** Every procedure's Markdown report: outcome, SLOs, its own section, findings, undos, alerts, steps. */
export function renderMarkdown(r: ProcedureReport): string {
  const title = isRestoreReport(r) ? `Vault restore report: ${r.cluster} → ${r.target}` : `${r.procedure} report${r.cluster ? `: ${r.cluster}` : ''}`;
  const lines = [
    `# ${title}`,
    '',
    `- Outcome: **${r.outcome.toUpperCase()}**${r.error ? ` (${r.error})` : ''}`,
    `- Workflow: \`${r.workflowId}\``,
    `- Started ${r.startedAt}, finished ${r.finishedAt ?? '—'}`,
    ...(isRestoreReport(r) ? restoreSummary(r) : []),
    '',
    '## SLOs',
    '',
    ...(r.slos.length
      ? [
          '| SLO | limit | measured | result |',
          '| --- | --- | --- | --- |',
          ...r.slos.map(
            (s) =>
              `| ${s.slo} | ${s.limitSeconds} s | ${fmt(s.measuredSeconds)} | ${s.met ? 'met' : `**breached**${s.breachedAtSeconds !== undefined ? ` (timer fired at ${fmt(s.breachedAtSeconds)})` : ''}`} |`,
          ),
        ]
      : ['- none for this procedure']),
    '',
    ...(isRestoreReport(r) ? restoreSections(r) : detailsSection(r)),
    '## Findings (runbook gaps)',
    '',
    ...(r.findings.length ? r.findings.map((f) => `- ${f}`) : ['- none']),
    '',
    '## Undo steps',
    '',
    ...(r.compensations.length ? r.compensations.map((c) => `- ${c.name}: **${c.outcome}**${c.detail ? ` (${c.detail})` : ''}`) : ['- none registered']),
    '',
    ...(r.alerts.length ? ['## SLO-breach alerts', '', ...r.alerts.map((a) => `- ${a.slo}: ${a.delivered ? 'delivered' : `**not delivered** (${a.error})`}`), ''] : []),
    '## Steps',
    '',
    '| step | start | end | outcome | detail |',
    '| --- | --- | --- | --- | --- |',
    ...r.steps.map((s) => `| ${s.name} | ${s.startedAt} | ${s.endedAt ?? '—'} | ${s.outcome ?? 'running'} | ${cell(s.detail ?? '')} |`),
    '',
  ];
  return lines.join('\n');
}

function restoreSummary(r: RestoreReport): string[] {
  return [
    `- Snapshot used: ${r.snapshot ? `\`${r.snapshot}\`` : 'none'} (storage ${r.storage})`,
    `- Time to secrets readable: ${fmt(r.secretsReadableSeconds)}`,
    `- Whole restore: ${fmt(r.wholeRestoreSeconds)}`,
    `- Recovery point (canary age at restore start): ${fmt(r.recoveryPointSeconds)}`,
  ];
}

function restoreSections(r: RestoreReport): string[] {
  return [
    '## Checks',
    '',
    ...(r.checks.length ? r.checks.map((c) => `- [${c.ok ? 'x' : ' '}] ${c.name}${c.detail ? ` (${c.detail})` : ''}`) : ['- none completed']),
    '',
    '## Snapshots skipped',
    '',
    ...(r.skipped.length ? r.skipped.map((s) => `- \`${s.key}\`: ${s.reason}`) : ['- none']),
    '',
    ...(r.storagesSkipped?.length ? ['## Storages skipped', '', ...r.storagesSkipped.map((s) => `- ${s.storage}${s.key ? ` (\`${s.key}\`)` : ''}: ${s.reason}`), ''] : []),
  ];
}

/** A drill's own results, as a compact list (nested values as JSON). */
function detailsSection(r: ProcedureReport): string[] {
  const entries = Object.entries(r.details ?? {});
  if (entries.length === 0) return [];
  return ['## Results', '', ...entries.map(([k, v]) => `- ${k}: ${typeof v === 'object' ? `\`${cell(JSON.stringify(v))}\`` : String(v)}`), ''];
}
