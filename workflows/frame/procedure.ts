import {
  ApplicationFailure,
  CancellationScope,
  condition,
  ContinueAsNew,
  defineQuery,
  isCancellation,
  patched,
  proxyActivities,
  proxyLocalActivities,
  setHandler,
  upsertMemo,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { createAlertActivities } from '../../activities/alertmanager';
import type { createProcedureActivities } from '../../activities/procedure';
import { failureMessage, FailureType, innermost } from '../../lib/fail';
import type { AlertDelivery, ProcedureOutcome, ProcedureReport, SloResult, Step } from '../../lib/reports/types';
import { SA } from '../../lib/search-attributes';
import { localProfiles, profiles } from '../activity-profiles';
import { Compensations, type Undo } from './compensations';
import { SloTimer } from './slos';
import { elapsedSeconds, StepLog } from './step-log';

const epilogue = proxyActivities<ReturnType<typeof createProcedureActivities>>(profiles.sideEffect);
// The epilogue as local activities: two fewer task-queue round trips per run (issue 7's bar: the
// frame adds no more than 1 s to a restore). Runs recorded before this replay the old way.
const localEpilogue = proxyLocalActivities<ReturnType<typeof createProcedureActivities>>(localProfiles.epilogue);
const alerts = proxyActivities<ReturnType<typeof createAlertActivities>>(profiles.sideEffect);

/** One `status` query shape for every procedure; procedures add their own fields (restore: `unseal`, `snapshot`). */
export interface ProcedureStatus {
  procedure: string;
  phase: string;
  step?: string;
  steps: Step[];
  slos: SloResult[];
  /** Undos registered and not yet run, newest first. */
  pendingUndos: string[];
  /** What a person must do for the procedure to go on (approve, unseal); absent when nothing. */
  pendingHumanAction?: string;
  alerts: AlertDelivery[];
  [extra: string]: unknown;
}

export const statusQuery = defineQuery<ProcedureStatus>('status');

export interface ProcedureDef {
  /** Registry name; the `procedure` label of metrics and the SecdrProcedure search attribute. */
  procedure: string;
  cluster?: string;
  /** The word for success in the report; restores say `verified`. Default `succeeded`. */
  successOutcome?: 'succeeded' | 'verified';
  /**
   * Run the undos that are still registered when the procedure succeeds (default true:
   * a drill that forgot to put something back still puts it back). False: report them as
   * not needed.
   */
  compensateOnSuccess?: boolean;
  /** Alert posted when an SLO timer fires; labels gain `slo`. Default SecdrSloBreached, critical. */
  breachAlert?: { alertname: string; labels: Record<string, string>; summary: (slo: SloTimer) => string };
  /** First line of the failure a failed procedure throws; the report's error follows. */
  failurePrefix?: string;
  /** Procedure-specific fields added to every `status` query answer (read at query time). */
  statusExtra?: () => Record<string, unknown>;
}

/** What a procedure body sees: its runbook steps, undos, SLO timers and report fields. */
export interface Procedure {
  readonly status: ProcedureStatus;
  /** Procedure-specific report fields, rendered by the report activity. */
  readonly details: Record<string, unknown>;
  step<T>(name: string, fn: () => Promise<T>, detail?: (r: T) => string): Promise<T>;
  skip(name: string, detail: string): void;
  /** Registers the undo of the change the next step makes; call it *before* that step. */
  compensate(name: string, undo: () => Promise<unknown>): Undo;
  /** Starts an SLO timer now (or from `fromSeconds` of workflow time). */
  slo(name: string, limitSeconds: number, fromSeconds?: number): SloTimer;
  phase(text: string): void;
  /** A runbook gap for the report (a near-expiry certificate, a slow step that still passed). */
  finding(text: string): void;
  humanAction(text: string | undefined): void;
  readonly log: StepLog;
}

/**
 * Runs one procedure inside the frame: step log and status query, search attributes,
 * SLO timers with breach alerts, the compensation stack, the outcome metrics and the
 * report. `extra` holds the procedure's own top-level report fields (the restore's
 * `snapshot`, `checks`, …): the body fills it in, the report spreads it in.
 *
 * On failure or cancellation the undos run newest first in a non-cancellable scope, then
 * the outcome is recorded and the report written; a failed undo, a report that could not be
 * written or an outcome that could not be recorded fail the procedure with a message that
 * says what was left undone. A failed procedure throws `ProcedureFailed` carrying the
 * report; a cancelled one ends cancelled.
 */
export async function runProcedure<X extends object>(
  def: ProcedureDef,
  extra: X,
  body: (p: Procedure) => Promise<void>,
): Promise<ProcedureReport & X> {
  const info = workflowInfo();
  const log = new StepLog();
  const undos = new Compensations();
  const timers: SloTimer[] = [];
  const watchers: Promise<void>[] = [];
  const report: ProcedureReport = {
    procedure: def.procedure,
    workflowId: info.workflowId,
    runId: info.runId,
    cluster: def.cluster,
    startedAt: new Date().toISOString(),
    outcome: 'failed',
    steps: log.steps,
    slos: [],
    compensations: undos.results,
    findings: [],
    alerts: [],
    details: {},
  };
  const status: ProcedureStatus = { procedure: def.procedure, phase: 'starting', steps: log.steps, slos: [], pendingUndos: [], alerts: report.alerts };
  let closed = false;
  setHandler(statusQuery, () => ({
    ...status,
    ...def.statusExtra?.(),
    step: log.current?.name,
    slos: timers.map((t) => t.result()),
    pendingUndos: undos.pending,
  }));
  upsertSearchAttributes([
    ...(def.cluster ? [{ key: SA.cluster, value: def.cluster }] : []),
    { key: SA.procedure, value: def.procedure },
  ]);
  // The memo: what the run is, readable from a workflow listing without a query or a running
  // worker. Runs recorded before it replay without these commands.
  const withMemo = patched('frame-memo');
  if (withMemo) upsertMemo({ procedure: def.procedure, ...(def.cluster ? { cluster: def.cluster } : {}) });

  const breach = async (t: SloTimer): Promise<void> => {
    t.breachedAtSeconds = elapsedSeconds();
    upsertSearchAttributes([{ key: SA.sloBreached, value: true }]);
    const a = def.breachAlert ?? {
      alertname: 'SecdrSloBreached',
      labels: { procedure: def.procedure, ...(def.cluster ? { cluster: def.cluster } : {}) },
      summary: (s: SloTimer) => `${def.procedure}${def.cluster ? ` of ${def.cluster}` : ''}: ${s.slo} not met within ${s.limitSeconds} s`,
    };
    try {
      const delivered = await alerts.postAlert({
        alertname: a.alertname,
        severity: 'critical',
        labels: { ...a.labels, slo: t.slo },
        summary: a.summary(t),
        workflowId: info.workflowId,
      });
      report.alerts.push(delivered ? { slo: t.slo, delivered } : { slo: t.slo, delivered, error: 'no Alertmanager configured (alertmanager.url)' });
    } catch (err) {
      report.alerts.push({ slo: t.slo, delivered: false, error: failureMessage(err) });
    }
  };

  const p: Procedure = {
    status,
    details: report.details,
    log,
    step: (name, fn, detail) => log.run(name, fn, detail),
    skip: (name, detail) => log.skip(name, detail),
    compensate: (name, undo) => undos.register(name, undo),
    slo: (name, limitSeconds, fromSeconds) => {
      const t = new SloTimer(name, limitSeconds, fromSeconds);
      timers.push(t);
      // The timer runs beside the procedure: it fires at the limit even while a step is stuck.
      watchers.push(
        CancellationScope.nonCancellable(async () => {
          const settled = await condition(() => t.reached || closed, t.remainingMs);
          if (!settled) await breach(t);
        }),
      );
      return t;
    },
    phase: (text) => void (status.phase = text),
    finding: (text) => void report.findings.push(text),
    humanAction: (text) => void (status.pendingHumanAction = text),
  };

  let error: unknown;
  try {
    await body(p);
    report.outcome = def.successOutcome ?? 'succeeded';
  } catch (err) {
    // A long-running procedure continuing as new is not finished: its state travels on, nothing is undone.
    if (err instanceof ContinueAsNew) throw err;
    error = err;
    report.outcome = isCancellation(err) ? 'cancelled' : 'failed';
    report.error = failureMessage(err);
  }

  // The epilogue must run to the end even when the workflow was cancelled.
  await CancellationScope.nonCancellable(async () => {
    closed = true;
    await Promise.all(watchers);
    report.slos = timers.map((t) => t.result());
    for (const s of report.slos) {
      if (!s.met && s.breachedAtSeconds !== undefined) report.findings.push(`SLO "${s.slo}" breached: limit ${s.limitSeconds} s, ${s.measuredSeconds === undefined ? 'never reached' : `measured ${s.measuredSeconds.toFixed(1)} s`}`);
    }
    for (const a of report.alerts.filter((x) => !x.delivered)) report.findings.push(`the breach alert for "${a.slo}" was not delivered: ${a.error}`);

    if (report.outcome !== 'failed' && report.outcome !== 'cancelled' && def.compensateOnSuccess === false) {
      undos.discardAll('the procedure succeeded; nothing to put back');
    }
    if (undos.pending.length > 0) status.phase = `putting back: ${undos.pending.join(', ')}`;
    const aborted = report.outcome === 'failed' || report.outcome === 'cancelled';
    await undos.unwind();
    // An undo that had to put something back after a failure is runbook-gap evidence (the
    // procedure did not get to restore it itself). Pure data: no new commands, replays as before.
    if (aborted) for (const c of report.compensations.filter((x) => x.outcome === 'done')) report.findings.push(`undo '${c.name}' had to run`);
    const leftChanged = report.compensations.filter((c) => c.outcome === 'failed');
    if (leftChanged.length > 0) {
      const what = leftChanged.map((c) => `"${c.name}" (${c.detail})`).join('; ');
      report.findings.push(`left changed: ${what}`);
      if (report.outcome !== 'cancelled') report.outcome = 'failed';
      report.error = [report.error, `undo failed, left changed: ${what}; put it back by hand (see the runbook)`].filter(Boolean).join('; ');
    }
    for (const s of log.steps.filter((x) => x.outcome === 'failed')) report.findings.push(`step "${s.name}" failed: ${s.detail}`);

    report.finishedAt = new Date().toISOString();
    upsertSearchAttributes([{ key: SA.outcome, value: report.outcome }]);
    const closing = patched('epilogue-local-activities') ? localEpilogue : epilogue;
    await epilogueStep(report, 'record outcome', () =>
      closing.recordProcedureOutcome({ procedure: def.procedure, cluster: def.cluster, outcome: report.outcome, at: report.finishedAt!, slos: report.slos, workflowId: info.workflowId }),
    );
    const files = await epilogueStep(report, 'write report', () => closing.writeProcedureReport({ ...report, ...extra }));
    if (files) report.reportFiles = files;
    // After the epilogue steps: an outcome they turned into a failure is the one the memo shows.
    if (withMemo) upsertMemo({ outcome: report.outcome });
    status.phase = report.outcome === 'failed' || report.outcome === 'cancelled' ? `${report.outcome}: ${report.error}` : report.outcome;
  });

  const full = { ...report, ...extra } as ProcedureReport & X;
  if (report.outcome === 'cancelled' && isCancellation(error)) throw error;
  if (report.outcome === 'failed' || report.outcome === 'cancelled') {
    throw ApplicationFailure.create({
      type: FailureType.ProcedureFailed,
      nonRetryable: true,
      message: `${def.failurePrefix ?? `${def.procedure} failed`}: ${report.error}`,
      details: [full],
      // The typed cause (VaultSealed, SnapshotCorrupt, …) stays reachable for callers that branch on it.
      cause: typedCause(error),
    });
  }
  return full;
}

/** An epilogue step: its failure turns the outcome into a failure that says what is missing. */
async function epilogueStep<T>(report: ProcedureReport, what: string, fn: () => Promise<T>): Promise<T | undefined> {
  try {
    return await fn();
  } catch (err) {
    const msg = `${what} failed: ${failureMessage(err)}`;
    report.findings.push(msg);
    if (report.outcome !== 'cancelled') report.outcome = 'failed' as ProcedureOutcome;
    report.error = [report.error, msg].filter(Boolean).join('; ');
    return undefined;
  }
}

function typedCause(err: unknown): ApplicationFailure | undefined {
  const e = innermost(err);
  return e instanceof ApplicationFailure ? e : undefined;
}
