import type { ProcedureReport, ReportComparison, SloChange } from './types';

/**
 * Measured differences smaller than this are noise (timer granularity, scheduling), not a
 * change worth a line in the report: 1 s or 5 % of the limit, whichever is larger.
 */
function noiseMargin(limitSeconds: number): number {
  return Math.max(1, limitSeconds * 0.05);
}

function change(prev: SloChange['previousSeconds'], cur: SloChange['currentSeconds'], limit: number, prevMet?: boolean, curMet?: boolean): SloChange['change'] {
  if (prevMet !== undefined && curMet !== undefined && prevMet !== curMet) return curMet ? 'better' : 'worse';
  // Never reached at all is worse than any measurement.
  if (prev === undefined && cur === undefined) return 'same';
  if (prev === undefined) return curMet === false ? 'same' : 'better';
  if (cur === undefined) return 'worse';
  const d = cur - prev;
  if (Math.abs(d) < noiseMargin(limit)) return 'same';
  return d < 0 ? 'better' : 'worse';
}

/**
 * Compares each SLO of `current` with the same-named SLO of `previous` (the last run of the
 * same procedure). SLOs only one run has are `new` or `gone`.
 */
export function compareReports(current: ProcedureReport, previous: ProcedureReport): ReportComparison {
  const prevBy = new Map(previous.slos.map((s) => [s.slo, s]));
  const slos: SloChange[] = current.slos.map((cur) => {
    const prev = prevBy.get(cur.slo);
    prevBy.delete(cur.slo);
    if (!prev) return { slo: cur.slo, limitSeconds: cur.limitSeconds, currentSeconds: cur.measuredSeconds, currentMet: cur.met, change: 'new' };
    return {
      slo: cur.slo,
      limitSeconds: cur.limitSeconds,
      previousSeconds: prev.measuredSeconds,
      currentSeconds: cur.measuredSeconds,
      previousMet: prev.met,
      currentMet: cur.met,
      change: change(prev.measuredSeconds, cur.measuredSeconds, cur.limitSeconds, prev.met, cur.met),
    };
  });
  for (const prev of prevBy.values()) {
    slos.push({ slo: prev.slo, limitSeconds: prev.limitSeconds, previousSeconds: prev.measuredSeconds, previousMet: prev.met, change: 'gone' });
  }
  return { previousWorkflowId: previous.workflowId, previousStartedAt: previous.startedAt, previousOutcome: previous.outcome, slos };
}
