import type { LogFailoverDetails } from '../logs/drill-types';
import type { CaOutageDetails } from '../pki/drill-types';
import { formatDuration } from '../pki/headroom';
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

/** A drill's own results: tables for the drills that have them, a compact list for the rest. */
function detailsSection(r: ProcedureReport): string[] {
  const details = r.details ?? {};
  if (Object.keys(details).length === 0) return [];
  if (r.procedure === 'ca-outage') return caOutageSections(details as unknown as Partial<CaOutageDetails>);
  if (r.procedure === 'log-failover') return logFailoverSections(details as unknown as Partial<LogFailoverDetails>);
  return genericResults('Results', details);
}

/** Nested values as one-line JSON: the fallback for procedures (and fields) without their own rendering. */
function genericResults(heading: string, details: Record<string, unknown>): string[] {
  const entries = Object.entries(details).filter(([, v]) => v !== undefined);
  if (entries.length === 0) return [];
  return [`## ${heading}`, '', ...entries.map(([k, v]) => `- ${k}: ${typeof v === 'object' ? `\`${cell(JSON.stringify(v))}\`` : String(v)}`), ''];
}

/** Fields of `details` none of the tables show, so a renderer that lags the workflow loses nothing. */
function rest(details: object, shown: string[]): Record<string, unknown> {
  return Object.fromEntries(Object.entries(details).filter(([k]) => !shown.includes(k)));
}

const table = (head: string[], rows: string[][]) => [`| ${head.join(' | ')} |`, `| ${head.map(() => '---').join(' | ')} |`, ...rows.map((row) => `| ${row.map(cell).join(' | ')} |`)];

function timelineTable(timeline: { at: string; seconds: number; event: string }[] | undefined): string[] {
  if (!timeline?.length) return [];
  return ['## Timeline', '', ...table(['t', 'at', 'event'], timeline.map((t) => [`${t.seconds.toFixed(1)} s`, t.at, t.event])), ''];
}

const short16 = (fp?: string) => (fp ? `${fp.slice(0, 16)}…` : '—');
const headroomCell = (seconds: number, short: boolean) => `${formatDuration(seconds)} ${short ? '**SHORT**' : 'ok'}`;

function caOutageSections(d: Partial<CaOutageDetails>): string[] {
  const inv = d.inventory;
  // headroom = time left − (outage window + renewal margin): the sum is the same for every line.
  const first = inv?.endpoints[0]?.headroom ?? inv?.certificates?.[0]?.headroom;
  const windowPlusMargin = first ? first.remainingSeconds - first.headroomSeconds : undefined;
  const after = new Map((d.headroom ?? []).map((h) => [h.endpoint, h]));
  const lines = [
    '## CA outage',
    '',
    `- CA: ${d.ca ?? '—'}${inv ? ` (${inv.ca.type} at ${inv.ca.address}, component ${inv.ca.component})` : ''}`,
    ...(inv ? [`- Trust anchor: ${inv.trustAnchorSubject} (${short16(inv.trustAnchorFingerprint)})`] : []),
    ...(d.failureType ? [`- Renewal while the CA was down: failed as \`${d.failureType}\` after ${fmt(d.failureDetectedSeconds)}`] : []),
    ...(d.renewalRecoverySeconds !== undefined ? [`- Renewal recovered ${fmt(d.renewalRecoverySeconds)} after the CA was started${d.renewal ? ` (serial ${d.renewal.serial}, valid until ${d.renewal.notAfter})` : ''}`] : []),
    ...(d.root ? [`- Root: recorded ${short16(d.root.recorded)}, after recovery ${short16(d.root.afterRecovery)}: ${d.root.changed ? '**CHANGED**' : 'same'}`] : []),
    ...(inv?.trustStores.length ? [`- Trust stores: ${inv.trustStores.map((t) => `\`${t.file}\` (${t.rootFingerprints.length} root(s))`).join(', ')}`] : []),
    '',
  ];
  if (inv && (inv.endpoints.length || inv.certificates?.length)) {
    const rows = [
      ...inv.endpoints.map((e) => {
        const h = after.get(e.endpoint);
        return [e.endpoint, e.leaf.subject, e.leaf.serial, e.leaf.notAfter, h?.remaining ?? formatDuration(e.headroom.remainingSeconds), headroomCell(h?.headroomSeconds ?? e.headroom.headroomSeconds, h?.short ?? e.headroom.short)];
      }),
      ...(inv.certificates ?? []).map((c) => {
        const h = after.get(c.endpoint);
        return [c.endpoint, `Certificate ${c.certificate}`, `revision ${c.revision ?? '?'}`, c.notAfter, h?.remaining ?? formatDuration(c.headroom.remainingSeconds), headroomCell(h?.headroomSeconds ?? c.headroom.headroomSeconds, h?.short ?? c.headroom.short)];
      }),
    ];
    lines.push(
      '## Certificates and headroom',
      '',
      `Inventory taken ${inv.at}; time left and headroom as measured while the CA was down where the drill got that far. ` +
        `Headroom is time left minus (outage window + renewal margin${windowPlusMargin !== undefined ? ` = ${formatDuration(windowPlusMargin)}` : ''}); a SHORT certificate would break during a realistic outage.`,
      '',
      ...table(['endpoint', 'subject', 'serial', 'notAfter', 'time left', `headroom vs window + margin`], rows),
      '',
    );
  }
  if (d.installed?.length) {
    lines.push('## Renewed certificates installed', '', ...table(['endpoint', 'previous serial', 'new serial', 'notAfter', 'served after'], d.installed.map((i) => [i.endpoint, i.previousSerial, i.serial, i.notAfter, fmt(i.servedAfterSeconds)])), '');
  }
  if (d.certManagerFailures?.length) {
    lines.push('## cert-manager while the CA was down', '', ...table(['endpoint', 'Certificate', 'reason', 'after', 'message'], d.certManagerFailures.map((f) => [f.endpoint, f.certificate, f.reason, fmt(f.seconds), f.message])), '');
  }
  if (d.certManagerRenewals?.length) {
    lines.push(
      '## cert-manager renewals after the CA was back',
      '',
      ...table(['endpoint', 'Certificate', 'revision', 'notAfter', 'after CA start', 'requests'], d.certManagerRenewals.map((c) => [c.endpoint, c.certificate, `${c.previousRevision ?? '-'} → ${c.revision ?? '-'}`, c.notAfter ?? '—', fmt(c.secondsAfterCaStart), String(c.requests)])),
      '',
    );
  }
  const shown = ['ca', 'timeline', 'inventory', 'headroom', 'certManagerFailures', 'certManagerRenewals', 'failureDetectedSeconds', 'failureType', 'renewalRecoverySeconds', 'renewal', 'root', 'installed'];
  return [...lines, ...timelineTable(d.timeline), ...genericResults('Other results', rest(d, shown))];
}

function logFailoverSections(d: Partial<LogFailoverDetails>): string[] {
  const c = d.canaries;
  const missing = (m: number[]) => (m.length === 0 ? '0' : `${m.length} (${m.slice(0, 20).join(', ')}${m.length > 20 ? ', …' : ''})`);
  const rows: string[][] = [
    ...(c
      ? [
          ['outage canaries sent', String(c.sent)],
          ['received by the primary', `${c.primary.received} of ${c.sent}`],
          ['received by the secondary', `${c.secondary.received} of ${c.sent}`],
          ['missing in the primary', missing(c.primary.missing)],
          ['missing in the secondary', missing(c.secondary.missing)],
        ]
      : []),
    ...(d.failoverDelaySeconds !== undefined ? [['first outage canary in the secondary', `${fmt(d.failoverDelaySeconds)} after the stop`]] : []),
    ...(d.catchUpSeconds !== undefined ? [['caught up', `${fmt(d.catchUpSeconds)} after the restarted backend(s) were ready`]] : []),
  ];
  const lines = ['## Log-pipeline failover', '', `- Variant: ${d.variant ?? '—'}`, `- Canary run tag: \`${d.run ?? '—'}\``, ''];
  if (rows.length) lines.push('## Canaries', '', ...table(['canaries', 'value'], rows), '');
  return [...lines, ...timelineTable(d.timeline), ...genericResults('Other results', rest(d, ['variant', 'run', 'timeline', 'canaries', 'failoverDelaySeconds', 'catchUpSeconds']))];
}
