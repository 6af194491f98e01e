import { seconds, secondsBetween, timestamp } from './format';
import type { ProcedureReport, SloChange, Step } from './types';

/**
 * The report as one self-contained HTML page: inline CSS, no scripts, no fonts or images from
 * anywhere, so it opens from an artifact store or an air-gapped audit share exactly as written.
 * Sections: summary, timeline (every step and every SLO on one time axis), SLOs, findings as runbook
 * gaps, compensations, comparison with the previous run, procedure details.
 */

const esc = (s: unknown): string =>
  String(s).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

const pct = (n: number): string => `${Math.max(0, Math.min(100, n)).toFixed(2)}%`;

const CSS = `
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif;margin:24px;color:#1d2330;background:#fff;max-width:1200px}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 8px;border-bottom:1px solid #dde2ea;padding-bottom:4px}
.meta{color:#556;font-size:13px}.meta code{font-size:12px}
.badge{display:inline-block;padding:2px 10px;border-radius:10px;font-weight:600;font-size:13px;color:#fff;vertical-align:middle}
.succeeded,.verified,.ok,.met,.done,.better{background:#2e7d32}.failed,.breached,.worse{background:#c62828}.cancelled,.skipped,.same,.gone,.not-needed{background:#78808c}.running,.new{background:#1565c0}
table{border-collapse:collapse;font-size:13px;width:100%}th,td{text-align:left;padding:5px 8px;border-bottom:1px solid #e8ebf0;vertical-align:top}th{background:#f4f6f9}
.timeline{border:1px solid #dde2ea;border-radius:6px;padding:10px 12px;font-size:12px}
.row{display:grid;grid-template-columns:330px 1fr 170px;align-items:center;gap:8px;min-height:22px}
.row .label{overflow:hidden;text-overflow:ellipsis;white-space:nowrap}
.track{position:relative;height:16px;background:#f4f6f9;border-radius:3px}
.bar{position:absolute;top:2px;height:12px;border-radius:3px;min-width:3px}
.limit{position:absolute;top:-3px;bottom:-3px;border-left:2px dashed #c62828}
.hint{color:#778;margin:2px 0 4px}
.axis{display:grid;grid-template-columns:330px 1fr 170px;gap:8px;color:#778;margin-top:4px}.axis div.ticks{display:flex;justify-content:space-between}
.sep{border-top:1px solid #dde2ea;margin:6px 0}
ul.findings li{margin:4px 0}
pre{background:#f4f6f9;padding:6px 8px;border-radius:4px;white-space:pre-wrap;font-size:12px;margin:0}
`;

function badge(cls: string, text = cls): string {
  return `<span class="badge ${esc(cls.replace(/\s+/g, '-'))}">${esc(text)}</span>`;
}

/** Seconds the step timeline spans: the run and every step in it. */
function axisSeconds(r: ProcedureReport): number {
  const ends = r.steps.map((s) => secondsBetween(r.startedAt, s.endedAt ?? s.startedAt));
  const run = r.finishedAt ? secondsBetween(r.startedAt, r.finishedAt) : 0;
  return Math.max(1, run, ...ends);
}

function stepRow(r: ProcedureReport, s: Step, axis: number): string {
  const start = secondsBetween(r.startedAt, s.startedAt);
  const end = s.endedAt ? secondsBetween(r.startedAt, s.endedAt) : axis;
  const outcome = s.outcome ?? 'running';
  const title = `${s.name}: ${outcome}, ${seconds(start)} → ${seconds(end)}${s.detail ? ` — ${s.detail}` : ''}`;
  return `<div class="row step" data-outcome="${esc(outcome)}"><div class="label" title="${esc(s.name)}">${esc(s.name)}</div>
<div class="track"><div class="bar ${esc(outcome)}" style="left:${pct((start / axis) * 100)};width:${pct(((end - start) / axis) * 100)}" title="${esc(title)}"></div></div>
<div>${esc(seconds(end - start))}</div></div>`;
}

/**
 * An SLO is measured from its own start (the procedure's, or a phase's), which the report does
 * not place on the run's axis; so each SLO row has its own scale, 0 to a quarter past the larger
 * of its limit and what was measured, with the limit marked.
 */
function sloRow(s: ProcedureReport['slos'][number]): string {
  const reached = s.measuredSeconds ?? s.breachedAtSeconds ?? 0;
  const scale = Math.max(s.limitSeconds, reached) * 1.25;
  const title = `${s.slo}: measured ${seconds(s.measuredSeconds)}, limit ${s.limitSeconds} s, ${s.met ? 'met' : 'breached'}`;
  const value = `${s.measuredSeconds === undefined ? 'not reached' : seconds(s.measuredSeconds)} / ${s.limitSeconds} s`;
  return `<div class="row slo" data-met="${s.met}"><div class="label" title="${esc(s.slo)}">SLO · ${esc(s.slo)}</div>
<div class="track"><div class="bar ${s.met ? 'met' : 'breached'}" style="left:0;width:${pct((reached / scale) * 100)}" title="${esc(title)}"></div><div class="limit" style="left:${pct((s.limitSeconds / scale) * 100)}" title="limit ${s.limitSeconds} s"></div></div>
<div>${esc(value)} ${s.met ? 'met' : '<b>BREACHED</b>'}</div></div>`;
}

function timeline(r: ProcedureReport): string {
  const axis = axisSeconds(r);
  const ticks = [0, 0.25, 0.5, 0.75, 1].map((f) => `<span>${(axis * f).toFixed(axis < 20 ? 1 : 0)} s</span>`).join('');
  const rows = r.steps.map((s) => stepRow(r, s, axis)).join('\n');
  const slos = r.slos.map((s) => sloRow(s)).join('\n');
  return `<div class="timeline" id="timeline">${rows || '<p>no steps ran</p>'}
<div class="axis"><div></div><div class="ticks">${ticks}</div><div></div></div>${
    slos ? `<div class="sep"></div><div class="hint">Each SLO from its own start, on its own scale; the dashed line is the limit.</div>${slos}` : ''
  }</div>`;
}

function sloTable(r: ProcedureReport): string {
  if (!r.slos.length) return '<p>No SLOs for this procedure.</p>';
  const rows = r.slos
    .map(
      (s) =>
        `<tr><td>${esc(s.slo)}</td><td>${s.limitSeconds} s</td><td>${esc(seconds(s.measuredSeconds))}</td><td>${s.met ? badge('met') : badge('breached')}${
          s.breachedAtSeconds !== undefined ? ` timer fired at ${esc(seconds(s.breachedAtSeconds))}` : ''
        }</td></tr>`,
    )
    .join('');
  return `<table id="slos"><tr><th>SLO</th><th>limit</th><th>measured</th><th>result</th></tr>${rows}</table>`;
}

function comparison(r: ProcedureReport): string {
  const c = r.comparison;
  if (!c) return '<p>No previous run of this procedure to compare with.</p>';
  const delta = (s: SloChange) =>
    s.previousSeconds !== undefined && s.currentSeconds !== undefined ? `${s.currentSeconds - s.previousSeconds >= 0 ? '+' : ''}${(s.currentSeconds - s.previousSeconds).toFixed(1)} s` : '—';
  const rows = c.slos
    .map((s) => `<tr><td>${esc(s.slo)}</td><td>${esc(seconds(s.previousSeconds))}</td><td>${esc(seconds(s.currentSeconds))}</td><td>${esc(delta(s))}</td><td>${badge(s.change)}</td></tr>`)
    .join('');
  return `<p class="meta">Previous run <code>${esc(c.previousWorkflowId)}</code> started ${esc(timestamp(c.previousStartedAt))}, ${esc(c.previousOutcome)}.</p>
<table id="comparison"><tr><th>SLO</th><th>previous</th><th>this run</th><th>change</th><th></th></tr>${rows}</table>`;
}

function detailValue(v: unknown): string {
  if (v === null || typeof v !== 'object') return esc(v);
  return `<pre>${esc(JSON.stringify(v, null, 2))}</pre>`;
}

/** The whole page. Deterministic for a given report (no "generated at" clock), so it can be hashed. */
export function renderReportHtml(r: ProcedureReport): string {
  const took = r.finishedAt ? seconds(secondsBetween(r.startedAt, r.finishedAt)) : 'still running';
  const title = `${r.procedure}${r.cluster ? ` (${r.cluster})` : ''}: ${r.outcome}`;
  const findings = r.findings.length ? `<ul class="findings">${r.findings.map((f) => `<li>${esc(f)}</li>`).join('')}</ul>` : '<p>None: every step and SLO held.</p>';
  const comps = r.compensations.length
    ? `<table id="compensations"><tr><th>undo</th><th>outcome</th><th>detail</th></tr>${r.compensations
        .map((c) => `<tr><td>${esc(c.name)}</td><td>${badge(c.outcome)}</td><td>${esc(c.detail ?? '')}</td></tr>`)
        .join('')}</table>`
    : '<p>No compensations were registered.</p>';
  const details = Object.entries(r.details);
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>${esc(title)}</title><style>${CSS}</style></head>
<body>
<h1>${esc(r.procedure)} ${badge(r.outcome)}</h1>
<div class="meta">Workflow <code>${esc(r.workflowId)}</code>${r.cluster ? ` · cluster ${esc(r.cluster)}` : ''} · started ${esc(timestamp(r.startedAt))} · finished ${esc(timestamp(r.finishedAt))} · took ${esc(took)}</div>
${r.error ? `<p><strong>Error:</strong> ${esc(r.error)}</p>` : ''}
<h2>Timeline</h2>
${timeline(r)}
<h2>SLOs</h2>
${sloTable(r)}
<h2>Runbook gaps found</h2>
${findings}
<h2>Compensations</h2>
${comps}
<h2>Compared with the previous run</h2>
${comparison(r)}
${details.length ? `<h2>Details</h2><table id="details">${details.map(([k, v]) => `<tr><th>${esc(k)}</th><td>${detailValue(v)}</td></tr>`).join('')}</table>` : ''}
</body></html>
`;
}
