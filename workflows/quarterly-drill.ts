import {
  ApplicationFailure,
  ChildWorkflowCancellationType,
  condition,
  defineSignal,
  defineUpdate,
  executeChild,
  ParentClosePolicy,
  proxyActivities,
  setHandler,
  workflowInfo,
} from '@temporalio/workflow';
import type { createDrillEvidenceActivities } from '../activities/drill-evidence';
import { fail, failureMessage, FailureType, innermost } from '../lib/fail';
import type { EvidenceEntry } from '../lib/reports/evidence';
import type { DrillResult } from '../lib/reports/merge';
import type { ProcedureReport } from '../lib/reports/types';
import { profiles } from './activity-profiles';
import { runProcedure } from './frame';

const evidence = proxyActivities<ReturnType<typeof createDrillEvidenceActivities>>(profiles.sideEffect);

export interface QuarterlyDrillInput {
  /** The drills in the order they run: registry name, workflow type and the child's input (built from the config when the run starts). */
  drills: { name: string; workflowType: string; input: unknown }[];
  /** Present: wait for approval (Update or signal `approve`) at most this long, then end as "not run". */
  approval?: { timeoutSeconds: number };
  /** Stop at the first failed drill (default: run the others). */
  stopOnFailure?: boolean;
  /** `secdr drill rerun`: the quarterly run whose failed drills run again; its passed ones are taken over. */
  rerunOf?: string;
}

export interface Approval {
  by: string;
  /** Workflow time of the approval. */
  at: string;
}

export interface QuarterlyDrillDetails {
  drills: { drill: string; workflowId: string; outcome: DrillResult['outcome']; error?: string; reusedFrom?: string; slosBreached: number }[];
  approval?: Approval;
  evidence?: EvidenceEntry;
  comparedWith?: string;
  localFiles?: { json: string; markdown: string; html: string; junit: string };
}

export type QuarterlyDrillReport = ProcedureReport & QuarterlyDrillDetails;

/** Approve a waiting quarterly drill; the Update answers with the recorded approval. */
export const approveUpdate = defineUpdate<Approval, [{ by: string }]>('approve');
/** The same for clients that can only signal. */
export const approveSignal = defineSignal<[{ by: string }]>('approve');

/** The report a child drill's failure carries (the frame puts it in ProcedureFailed's details). */
function childReport(err: unknown): ProcedureReport | undefined {
  const e = innermost(err);
  if (e instanceof ApplicationFailure && e.type === FailureType.ProcedureFailed) return e.details?.[0] as ProcedureReport | undefined;
  return undefined;
}

/**
 * The quarterly DR drill (docs/runbooks/quarterly-drill.md): an optional approval gate, then each
 * configured drill as a child workflow, in order. A failed drill does not stop the others unless
 * `stopOnFailure`; every child runs its own undos (a cancelled parent asks its children to cancel
 * and waits for their compensations). One merged report, JUnit and a comparison with the previous
 * quarterly run are stored with the snapshots. Fails when any drill failed or did not run.
 */
export async function quarterlyDrillWorkflow(input: QuarterlyDrillInput): Promise<QuarterlyDrillReport> {
  const info = workflowInfo();
  const d: QuarterlyDrillDetails = { drills: [] };
  return runProcedure({ procedure: 'quarterly', failurePrefix: 'quarterly drill failed' }, d, async (p) => {
    const results: DrillResult[] = [];
    let approvalTimeout: number | undefined;
    const finish = async () => {
      d.drills = results.map((r) => ({
        drill: r.drill,
        workflowId: r.workflowId,
        outcome: r.outcome,
        ...(r.error ? { error: r.error } : {}),
        ...(r.reusedFrom ? { reusedFrom: r.reusedFrom } : {}),
        slosBreached: r.report?.slos.filter((s) => !s.met).length ?? 0,
      }));
      const stored = await p.step(
        'Store the drill evidence with the snapshots',
        () =>
          evidence.storeDrillEvidence({
            parent: {
              workflowId: info.workflowId,
              startedAt: p.log.steps[0]?.startedAt ?? new Date().toISOString(),
              finishedAt: new Date().toISOString(),
              steps: p.log.steps.filter((s) => s.endedAt),
              ...(d.approval ? { approval: d.approval } : approvalTimeout !== undefined ? { approval: { timedOutAfterSeconds: approvalTimeout } } : {}),
              ...(input.rerunOf ? { rerunOf: input.rerunOf } : {}),
            },
            drills: results,
          }),
        (r) =>
          `${r.entry.files.json.path} sha256 ${r.entry.files.json.sha256.slice(0, 12)}…${r.comparedWith ? `, compared with ${r.comparedWith}` : ', no previous run'}` +
          `${r.retention.some((x) => x.deleted.length) ? `; retention removed ${r.retention.flatMap((x) => x.deleted).join(', ')}` : ''}`,
      );
      Object.assign(d, { evidence: stored.entry, comparedWith: stored.comparedWith, localFiles: stored.localFiles });
    };

    if (input.drills.length === 0 && !input.rerunOf) throw fail(FailureType.InvalidInput, 'no drills to run: list them in quarterlyDrill.drills');

    if (input.approval) {
      let approval: Approval | undefined;
      const approve = ({ by }: { by: string }) => {
        approval ??= { by, at: new Date().toISOString() };
        return approval;
      };
      setHandler(approveUpdate, approve, {
        validator: ({ by }) => {
          if (!by?.trim()) throw fail(FailureType.InvalidInput, 'approve: say who approves: --by NAME');
          if (approval) throw fail(FailureType.InvalidInput, `already approved by ${approval.by} at ${approval.at}`);
        },
      });
      setHandler(approveSignal, (a) => void (a.by?.trim() && approve(a)));
      p.phase('waiting for approval');
      p.humanAction(`approve the drill: secdr drill approve ${info.workflowId} --by NAME (within ${input.approval.timeoutSeconds} s)`);
      const ok = await p.step(
        'Wait for approval',
        () => condition(() => approval !== undefined, input.approval!.timeoutSeconds * 1000),
        (got) => (got ? `approved by ${approval!.by} at ${approval!.at}` : `nobody approved within ${input.approval!.timeoutSeconds} s`),
      );
      p.humanAction(undefined);
      if (!ok) {
        approvalTimeout = input.approval.timeoutSeconds;
        for (const dr of input.drills) results.push({ drill: dr.name, workflowId: `${info.workflowId}-${dr.name}`, outcome: 'not run', error: 'not approved' });
        await finish();
        throw fail(FailureType.ApprovalTimedOut, `not run: nobody approved the drill within ${input.approval.timeoutSeconds} s`);
      }
      d.approval = approval;
    }

    let toRun = input.drills;
    if (input.rerunOf) {
      const earlier = await p.step(
        'Load the drill run being re-run',
        () => evidence.loadDrillRun({ workflowId: input.rerunOf! }),
        (r) => `${r.filter((x) => x.outcome === 'succeeded').length} passed, ${r.filter((x) => x.outcome !== 'succeeded').length} to re-run`,
      );
      const passed = new Set(earlier.filter((x) => x.outcome === 'succeeded').map((x) => x.drill));
      for (const e of earlier.filter((x) => passed.has(x.drill))) results.push({ ...e, reusedFrom: input.rerunOf });
      const again = new Set(earlier.filter((x) => !passed.has(x.drill)).map((x) => x.drill));
      toRun = input.drills.filter((x) => again.has(x.name));
    }

    let stopped: string | undefined;
    for (const drill of toRun) {
      const workflowId = `${info.workflowId}-${drill.name}`;
      if (stopped) {
        results.push({ drill: drill.name, workflowId, outcome: 'not run', error: `stopped after ${stopped} failed (quarterlyDrill.stopOnFailure)` });
        continue;
      }
      p.phase(`drill ${drill.name}`);
      try {
        const report = await p.step(
          `Run the ${drill.name} drill`,
          () =>
            executeChild<(i: unknown) => Promise<ProcedureReport>>(drill.workflowType, {
              workflowId,
              args: [drill.input],
              // A cancelled quarterly drill cancels its children and waits: their undos must run.
              parentClosePolicy: ParentClosePolicy.REQUEST_CANCEL,
              cancellationType: ChildWorkflowCancellationType.WAIT_CANCELLATION_COMPLETED,
            }),
          (r) => `${r.outcome}; ${r.slos.map((s) => `${s.slo} ${s.measuredSeconds?.toFixed(1) ?? '—'} s / ${s.limitSeconds} s`).join(', ') || 'no SLOs'}`,
        );
        // A restore's word for success is `verified`; the quarterly drill counts it as passed.
        results.push({ drill: drill.name, workflowId, outcome: report.outcome === 'failed' || report.outcome === 'cancelled' ? report.outcome : 'succeeded', report });
      } catch (err) {
        const report = childReport(err);
        results.push({ drill: drill.name, workflowId, outcome: report?.outcome === 'cancelled' ? 'cancelled' : 'failed', error: failureMessage(err), report });
        if (input.stopOnFailure) stopped = drill.name;
      }
    }
    results.sort((a, b) => input.drills.findIndex((x) => x.name === a.drill) - input.drills.findIndex((x) => x.name === b.drill));
    await finish();
    const bad = results.filter((r) => r.outcome !== 'succeeded');
    if (bad.length > 0) throw fail(FailureType.DrillsFailed, `${bad.map((r) => `${r.drill} ${r.outcome}`).join(', ')}; see ${d.evidence?.files.html.path ?? 'the report'}`);
  });
}
