import { writeFile } from 'node:fs/promises';
import { WorkflowFailedError } from '@temporalio/client';
import type { SecdrConfig } from '../../lib/config/schema';
import { ApplicationFailure } from '@temporalio/common';
import { failureMessage, innermost } from '../../lib/fail';
import type { ProcedureReport } from '../../lib/reports/types';
import { SA } from '../../lib/search-attributes';
import { connectClient } from '../../lib/temporal/connect';
import type { ProcedureEntry } from '../../procedures';
import { followWorkflow } from './progress';

export interface RunOpts {
  wait?: boolean;
  json?: boolean;
  /** Write the finished run as JUnit XML here (one test case per step). */
  junit?: string;
}

/** The report a failed procedure carries in its failure details (the frame puts it there). */
export function reportOfFailure(err: unknown): ProcedureReport | undefined {
  if (!(err instanceof WorkflowFailedError)) return undefined;
  const failure = innermost(err);
  const r = (failure instanceof ApplicationFailure ? failure.details?.[0] : undefined) as ProcedureReport | undefined;
  return r && typeof r === 'object' && 'procedure' in r ? r : undefined;
}

/**
 * Starts a registered procedure from the CLI; with --wait follows it and exits 0 when it
 * succeeded with every SLO met, 1 on failure or SLO breach, 2 on bad input.
 */
export async function runProcedureCommand(
  config: SecdrConfig,
  entry: ProcedureEntry,
  cliOpts: Record<string, string | boolean | undefined>,
  opts: RunOpts,
): Promise<number> {
  let input: unknown;
  try {
    input = entry.input(config, cliOpts);
  } catch (err) {
    console.error(err instanceof Error ? err.message : String(err));
    return 2;
  }
  const client = await connectClient(config);
  const cluster = entry.cluster?.(input);
  const handle = await client.workflow.start(entry.workflowType, {
    taskQueue: config.temporal.taskQueue,
    workflowId: entry.workflowId(input, new Date()),
    args: [input],
    memo: cluster ? { cluster } : undefined,
    typedSearchAttributes: [...(cluster ? [{ key: SA.cluster, value: cluster }] : []), { key: SA.procedure, value: entry.name }],
  });
  console.error(`started ${handle.workflowId}`);
  if (!opts.wait) return 0;
  let report: ProcedureReport | undefined;
  let code: number;
  try {
    report = await followWorkflow<ProcedureReport>(handle, opts.json);
    if (opts.json) console.log(JSON.stringify(report, null, 2));
    else printReport(entry, report);
    code = report.slos.every((s) => s.met) ? 0 : 1;
  } catch (err) {
    report = reportOfFailure(err);
    if (opts.json && report) console.log(JSON.stringify(report, null, 2));
    console.error(`${entry.name} failed: ${failureMessage(err)}`);
    code = 1;
  }
  if (opts.junit && report) {
    const { renderJunitXml } = await import('../../lib/reports/junit');
    await writeFile(opts.junit, renderJunitXml([report], `secdr ${entry.name}`));
    console.error(`JUnit: ${opts.junit}`);
  }
  return code;
}

export function printReport(entry: ProcedureEntry, r: ProcedureReport): void {
  console.log(entry.summarize?.(r) ?? `${entry.name} ${r.outcome}`);
  for (const s of r.slos) {
    console.log(`  ${s.slo}: ${s.measuredSeconds?.toFixed(1) ?? '—'} s (limit ${s.limitSeconds} s) ${s.met ? 'met' : 'BREACHED'}`);
  }
  const restore = r as ProcedureReport & { recoveryPointSeconds?: number; skipped?: { key: string; reason: string }[] };
  if (restore.recoveryPointSeconds !== undefined) console.log(`  recovery point: ${restore.recoveryPointSeconds} s before restore start`);
  for (const s of restore.skipped ?? []) console.log(`  skipped ${s.key}: ${s.reason}`);
  for (const f of r.findings) console.log(`  finding: ${f}`);
  for (const c of r.compensations) console.log(`  undo ${c.name}: ${c.outcome}${c.detail ? ` (${c.detail})` : ''}`);
  if (r.reportFiles) console.log(`  report: ${r.reportFiles.markdown}`);
}
