import { writeFile } from 'node:fs/promises';
import type { SecdrConfig } from '../../lib/config/schema';
import { failureMessage } from '../../lib/fail';
import { listEvidence, loadEvidence, type EvidenceEntry } from '../../lib/reports/evidence';
import { SA } from '../../lib/search-attributes';
import { createRecordStore } from '../../lib/storage/records';
import { connectClient } from '../../lib/temporal/connect';
import type { ProcedureEntry } from '../../procedures';
import type { QuarterlyDrillReport } from '../../workflows/quarterly-drill';
import { followWorkflow } from './progress';
import { printReport, reportOfFailure, type RunOpts } from './run-procedure';

/**
 * `secdr drill quarterly` and `secdr drill rerun ID`: like every drill command, but the exit code
 * also counts the children's SLO breaches, and --junit/--json come from the merged evidence stored
 * with the snapshots (one test suite per drill), not from the parent's own steps.
 */
export async function quarterlyCommand(config: SecdrConfig, entry: ProcedureEntry, cliOpts: Record<string, string | boolean | undefined>, opts: RunOpts): Promise<number> {
  let input: unknown;
  try {
    input = entry.input(config, cliOpts);
  } catch (err) {
    console.error((err as Error).message);
    return 2;
  }
  const client = await connectClient(config);
  const handle = await client.workflow.start(entry.workflowType, {
    taskQueue: config.temporal.taskQueue,
    workflowId: entry.workflowId(input, new Date()),
    args: [input],
    typedSearchAttributes: [{ key: SA.procedure, value: entry.name }],
  });
  console.error(`started ${handle.workflowId}`);
  if (!opts.wait) return 0;
  let parent: QuarterlyDrillReport | undefined;
  let failed = false;
  try {
    parent = await followWorkflow<QuarterlyDrillReport>(handle, opts.json);
  } catch (err) {
    parent = reportOfFailure(err) as QuarterlyDrillReport | undefined;
    console.error(`quarterly drill failed: ${failureMessage(err)}`);
    failed = true;
  }
  const stored = await loadEvidence(config.storage, handle.workflowId).catch((err: unknown) => {
    console.error(`drill evidence of ${handle.workflowId} could not be read: ${(err as Error).message}`);
    return undefined;
  });
  if (opts.json) console.log(JSON.stringify(stored?.report ?? parent ?? null, null, 2));
  else if (parent) printReport(entry, parent);
  if (stored) {
    for (const s of stored.report.slos.filter((x) => !x.met)) console.error(`  SLO breached: ${s.slo} (limit ${s.limitSeconds} s, ${s.measuredSeconds === undefined ? 'not reached' : `measured ${s.measuredSeconds.toFixed(1)} s`})`);
    if (opts.junit) {
      const junit = await createRecordStore(config.storage[0]).read(stored.entry.files.junit.path);
      if (junit) {
        await writeFile(opts.junit, junit);
        console.error(`JUnit: ${opts.junit}`);
      }
    }
  } else if (opts.junit) console.error(`no JUnit written: the run stored no evidence (${parent?.error ?? 'see secdr status'})`);
  const breached = stored ? stored.report.slos.some((s) => !s.met) : (parent?.drills ?? []).some((d) => d.slosBreached > 0);
  return failed || breached || !stored || stored.report.outcome !== 'succeeded' ? 1 : 0;
}

/** `secdr drill list`: catalogued drill runs, newest first. */
export async function drillListCommand(config: SecdrConfig, json: boolean): Promise<number> {
  const entries = await listEvidence(config.storage);
  if (json) console.log(JSON.stringify(entries, null, 2));
  else if (entries.length === 0) console.log(`no drill evidence in storage ${config.storage[0].name} yet`);
  else for (const e of entries) console.log(line(e));
  return 0;
}

const line = (e: EvidenceEntry) =>
  `${e.workflowId}  ${e.startedAt}  ${e.outcome}${e.slosBreached ? ` (${e.slosBreached} SLO breached)` : ''}  sha256 ${e.files.json.sha256.slice(0, 16)}…`;

const FORMATS = { json: 'json', md: 'markdown', markdown: 'markdown', html: 'html', junit: 'junit' } as const;

/** `secdr drill report ID [--format]`: the stored evidence, checked against its catalogued SHA-256. */
export async function drillReportCommand(config: SecdrConfig, id: string, format: string): Promise<number> {
  const kind = FORMATS[format as keyof typeof FORMATS];
  if (!kind) {
    console.error(`--format ${format}: use one of ${Object.keys(FORMATS).join(', ')}`);
    return 2;
  }
  let found;
  try {
    found = await loadEvidence(config.storage, id);
  } catch (err) {
    console.error((err as Error).message);
    return 1;
  }
  if (!found) {
    console.error(`no drill evidence for ${id} in storage ${config.storage.map((s) => s.name).join(', ')}; see \`secdr drill list\``);
    return 2;
  }
  const file = found.entry.files[kind];
  const text = await createRecordStore(config.storage[0]).read(file.path);
  if (text === undefined) {
    console.error(`${file.path} is catalogued but missing from storage ${config.storage[0].name}`);
    return 1;
  }
  process.stdout.write(text);
  return 0;
}

/** `secdr drill approve ID --by NAME`: the Update answers with the recorded approval. */
export async function drillApproveCommand(config: SecdrConfig, id: string, by: string): Promise<number> {
  const { approveUpdate } = await import('../../workflows/quarterly-drill');
  const client = await connectClient(config);
  try {
    const a = await client.workflow.getHandle(id).executeUpdate(approveUpdate, { args: [{ by }] });
    console.log(`approved by ${a.by} at ${a.at}`);
    return 0;
  } catch (err) {
    console.error(`approval refused: ${failureMessage(err)}`);
    return 1;
  }
}
