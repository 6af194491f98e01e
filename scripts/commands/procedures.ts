import { WorkflowFailedError } from '@temporalio/client';
import type { SecdrConfig } from '../../lib/config/schema';
import { SA } from '../../lib/search-attributes';
import { connectClient } from '../../lib/temporal/connect';
import type { RestoreReport } from '../../lib/reports/restore';
import { vaultRestoreWorkflow, vaultSnapshotWorkflow } from '../../workflows';
import type { SnapshotResult } from '../../workflows/vault-snapshot';
import { restoreInput, restoreWorkflowId, snapshotInput, snapshotWorkflowId } from './inputs';
import { followWorkflow } from './progress';

export interface RunOpts {
  wait?: boolean;
  json?: boolean;
}

function failureText(err: unknown): string {
  if (err instanceof WorkflowFailedError) {
    let cause: Error | undefined = err.cause;
    while (cause && (cause as { cause?: Error }).cause) cause = (cause as { cause?: Error }).cause;
    return cause?.message ?? err.message;
  }
  return err instanceof Error ? err.message : String(err);
}

/** `secdr snapshot`: starts the snapshot workflow; with --wait follows it and exits 0/1. */
export async function snapshotCommand(config: SecdrConfig, cluster: string, opts: RunOpts): Promise<number> {
  const known = config.clusters.map((c) => c.name);
  if (!known.includes(cluster)) {
    console.error(`--cluster ${cluster}: no such cluster in the config (configured: ${known.join(', ')})`);
    return 2;
  }
  const client = await connectClient(config);
  const handle = await client.workflow.start(vaultSnapshotWorkflow, {
    taskQueue: config.temporal.taskQueue,
    workflowId: snapshotWorkflowId(cluster),
    args: [snapshotInput(config, cluster)],
    memo: { cluster },
    typedSearchAttributes: [
      { key: SA.cluster, value: cluster },
      { key: SA.procedure, value: 'vault-snapshot' },
    ],
  });
  console.error(`started ${handle.workflowId}`);
  if (!opts.wait) return 0;
  try {
    const result = await followWorkflow<SnapshotResult>(handle, opts.json);
    if (opts.json) console.log(JSON.stringify(result, null, 2));
    else console.log(`snapshot ${result.key}: ${result.bytes} bytes, raft index ${result.raftIndex}, uploaded to ${result.uploads.map((u) => u.location).join(', ')}`);
    return 0;
  } catch (err) {
    console.error(`snapshot failed: ${failureText(err)}`);
    return 1;
  }
}

/** `secdr restore`: restore-and-verify into a configured target. */
export async function restoreCommand(
  config: SecdrConfig,
  opts: RunOpts & { cluster: string; target: string; snapshot?: string; storage?: string },
): Promise<number> {
  const target = config.restore.targets.find((t) => t.name === opts.target || t.address.replace(/\/$/, '') === opts.target.replace(/\/$/, ''));
  if (!target) {
    console.error(`--target ${opts.target}: not a configured restore target (name or address); configured: ${config.restore.targets.map((t) => `${t.name} (${t.address})`).join(', ') || 'none'}`);
    return 2;
  }
  const client = await connectClient(config);
  const input = restoreInput(config, { ...opts, target: target.name });
  const handle = await client.workflow.start(vaultRestoreWorkflow, {
    taskQueue: config.temporal.taskQueue,
    workflowId: restoreWorkflowId(opts.cluster, target.name),
    args: [input],
    memo: { cluster: opts.cluster, target: target.name },
    typedSearchAttributes: [
      { key: SA.cluster, value: opts.cluster },
      { key: SA.procedure, value: 'vault-restore' },
    ],
  });
  console.error(`started ${handle.workflowId}`);
  if (!opts.wait) return 0;
  try {
    const report = await followWorkflow<RestoreReport>(handle, opts.json);
    if (opts.json) console.log(JSON.stringify(report, null, 2));
    else printRestore(report);
    return report.slos.every((s) => s.met) ? 0 : 1;
  } catch (err) {
    console.error(`restore failed: ${failureText(err)}`);
    return 1;
  }
}

export function printRestore(r: RestoreReport): void {
  console.log(`restore ${r.outcome}: ${r.snapshot ?? 'no snapshot'} → ${r.target}`);
  for (const s of r.slos) {
    console.log(`  ${s.slo}: ${s.measuredSeconds?.toFixed(1) ?? '—'} s (limit ${s.limitSeconds} s) ${s.met ? 'met' : 'BREACHED'}`);
  }
  if (r.recoveryPointSeconds !== undefined) console.log(`  recovery point: ${r.recoveryPointSeconds} s before restore start`);
  for (const s of r.skipped) console.log(`  skipped ${s.key}: ${s.reason}`);
  if (r.reportFiles) console.log(`  report: ${r.reportFiles.markdown}`);
}
