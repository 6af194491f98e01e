import { secondsBetween } from './format';
import type { ProcedureReport } from './types';

/**
 * JUnit XML for CI systems: one <testsuite> per procedure report, one <testcase> per step
 * (failures carry the step's reason), plus one per SLO and per compensation that failed, so a
 * breached SLO or an undo that did not run shows as red in the CI's test view.
 */

const xml = (s: unknown): string =>
  String(s)
    // XML 1.0 cannot carry most control characters, even escaped.
    .replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f]/g, '')
    .replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' })[c]!);

interface Case {
  name: string;
  time: number;
  failure?: string;
  skipped?: string;
}

function casesOf(r: ProcedureReport): Case[] {
  const steps: Case[] = r.steps.map((s) => {
    const time = s.endedAt ? secondsBetween(s.startedAt, s.endedAt) : 0;
    if (s.outcome === 'failed') return { name: s.name, time, failure: s.detail ?? 'step failed' };
    if (s.outcome === 'skipped') return { name: s.name, time, skipped: s.detail ?? 'skipped' };
    if (!s.outcome) return { name: s.name, time, failure: `step never finished (run ${r.outcome})` };
    return { name: s.name, time };
  });
  const slos: Case[] = r.slos.map((s) => ({
    name: `SLO: ${s.slo}`,
    time: s.measuredSeconds ?? s.breachedAtSeconds ?? 0,
    ...(s.met ? {} : { failure: `breached: ${s.measuredSeconds === undefined ? 'not reached' : `measured ${s.measuredSeconds.toFixed(1)} s`}, limit ${s.limitSeconds} s` }),
  }));
  const undos: Case[] = r.compensations
    .filter((c) => c.outcome === 'failed')
    .map((c) => ({ name: `compensation: ${c.name}`, time: 0, failure: c.detail ?? 'compensation failed: the component may not be back' }));
  // A run that failed before its first step still has to show as a failure.
  // `verified` is how a restore says it succeeded (ProcedureDef.successOutcome).
  const passed = r.outcome === 'succeeded' || (r.outcome as string) === 'verified';
  if (!passed && ![...steps, ...slos, ...undos].some((c) => c.failure)) {
    steps.push({ name: 'procedure', time: 0, failure: r.error ?? `run ${r.outcome}` });
  }
  return [...steps, ...slos, ...undos];
}

function suite(r: ProcedureReport): string {
  const cases = casesOf(r);
  const failures = cases.filter((c) => c.failure).length;
  const skipped = cases.filter((c) => c.skipped).length;
  const time = r.finishedAt ? secondsBetween(r.startedAt, r.finishedAt) : 0;
  const body = cases
    .map((c) => {
      const open = `    <testcase classname="${xml(`secdr.${r.procedure}`)}" name="${xml(c.name)}" time="${c.time.toFixed(3)}"`;
      if (c.failure) return `${open}>\n      <failure message="${xml(c.failure)}" type="${xml(r.procedure)}">${xml(c.failure)}</failure>\n    </testcase>`;
      if (c.skipped) return `${open}>\n      <skipped message="${xml(c.skipped)}"/>\n    </testcase>`;
      return `${open}/>`;
    })
    .join('\n');
  return `  <testsuite name="${xml(r.procedure)}" id="${xml(r.workflowId)}" tests="${cases.length}" failures="${failures}" errors="0" skipped="${skipped}" time="${time.toFixed(3)}" timestamp="${xml(r.startedAt.slice(0, 19))}">\n${body}\n  </testsuite>`;
}

/** The JUnit document for one run (a drill) or several (the quarterly drill's children). */
export function renderJunitXml(reports: ProcedureReport[], name = 'secdr drills'): string {
  const all = reports.map(casesOf).flat();
  return `<?xml version="1.0" encoding="UTF-8"?>\n<testsuites name="${xml(name)}" tests="${all.length}" failures="${all.filter((c) => c.failure).length}">\n${reports
    .map(suite)
    .join('\n')}\n</testsuites>\n`;
}
