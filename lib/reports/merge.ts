import type { CompensationResult, ProcedureOutcome, ProcedureReport, SloResult, Step } from './types';

/** One drill of a quarterly run, as the parent saw it. */
export interface DrillResult {
  drill: string;
  workflowId: string;
  /** `not run`: approval timed out, an earlier drill stopped the run, or it was never started. */
  outcome: ProcedureOutcome | 'not run';
  error?: string;
  /** The child's own report (absent when it never started or its failure carried none). */
  report?: ProcedureReport;
  /** Taken over from the run being re-run (it had passed there). */
  reusedFrom?: string;
}

export interface QuarterlyParent {
  workflowId: string;
  startedAt: string;
  finishedAt: string;
  /** The parent's own steps (approval gate, loading the re-run's evidence). */
  steps: Step[];
  approval?: { by: string; at: string } | { timedOutAfterSeconds: number };
  rerunOf?: string;
}

const prefixed = <T extends { name: string }>(drill: string, xs: T[]) => xs.map((x) => ({ ...x, name: `${drill}: ${x.name}` }));

/** The report a drill that has none stands for: one failed (or skipped) step saying why. */
export function stubReport(d: DrillResult, at: string): ProcedureReport {
  const skipped = d.outcome === 'not run';
  return {
    procedure: d.drill,
    workflowId: d.workflowId,
    startedAt: at,
    finishedAt: at,
    outcome: d.outcome === 'not run' ? 'failed' : d.outcome,
    error: d.error,
    steps: [{ name: 'run the drill', startedAt: at, endedAt: at, outcome: skipped ? 'skipped' : 'failed', detail: d.error ?? d.outcome }],
    slos: [],
    compensations: [],
    findings: [],
    alerts: [],
    details: {},
  };
}

/**
 * One report for a quarterly run: the parent's steps, then every drill's steps, SLOs, undos and
 * findings prefixed with the drill's name, so the timeline, the SLO table and the JUnit cases
 * read "log-failover: Stop the primary backend". Succeeds only when every drill succeeded.
 */
export function mergeDrillReports(parent: QuarterlyParent, drills: DrillResult[]): ProcedureReport {
  const reports = drills.map((d) => d.report ?? stubReport(d, parent.finishedAt));
  const starts = [parent.startedAt, ...reports.map((r) => r.startedAt)].sort();
  const steps: Step[] = [...parent.steps, ...reports.flatMap((r, i) => prefixed(drills[i].drill, r.steps))];
  const slos: SloResult[] = reports.flatMap((r, i) => r.slos.map((s) => ({ ...s, slo: `${drills[i].drill}: ${s.slo}` })));
  const compensations: CompensationResult[] = reports.flatMap((r, i) => prefixed(drills[i].drill, r.compensations));
  const findings: string[] = [];
  for (const [i, d] of drills.entries()) {
    if (d.outcome === 'not run') findings.push(`${d.drill}: not run${d.error ? ` (${d.error})` : ''}`);
    else if (d.outcome !== 'succeeded') findings.push(`${d.drill}: ${d.outcome}${d.error ? `: ${d.error}` : ''}`);
    findings.push(...reports[i].findings.map((f) => `${d.drill}: ${f}`));
  }
  if (parent.approval && 'timedOutAfterSeconds' in parent.approval) findings.unshift(`not run: nobody approved the drill within ${parent.approval.timedOutAfterSeconds} s`);
  const failed = drills.filter((d) => d.outcome !== 'succeeded');
  return {
    procedure: 'quarterly',
    workflowId: parent.workflowId,
    startedAt: starts[0],
    finishedAt: parent.finishedAt,
    outcome: failed.length === 0 && drills.length > 0 ? 'succeeded' : 'failed',
    ...(failed.length ? { error: failed.map((d) => `${d.drill} ${d.outcome}${d.error ? `: ${d.error}` : ''}`).join('; ') } : {}),
    steps,
    slos,
    compensations,
    findings,
    alerts: reports.flatMap((r) => r.alerts),
    details: {
      drills: drills.map((d) => ({ drill: d.drill, workflowId: d.workflowId, outcome: d.outcome, ...(d.error ? { error: d.error } : {}), ...(d.reusedFrom ? { reusedFrom: d.reusedFrom } : {}) })),
      ...(parent.approval ? { approval: parent.approval } : {}),
      ...(parent.rerunOf ? { rerunOf: parent.rerunOf } : {}),
    },
  };
}

/** The drills' own reports, for JUnit (one test suite per drill). */
export function drillReports(merged: DrillResult[], at: string): ProcedureReport[] {
  return merged.map((d) => d.report ?? stubReport(d, at));
}
