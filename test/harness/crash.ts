import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { WorkflowFailedError, type Client, type WorkflowHandle } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { temporal } from '@temporalio/proto';
import { targetNamed } from '../../lib/config/lookup';
import type { SecdrConfig } from '../../lib/config/schema';
import { FailureType } from '../../lib/failure-types';
import type { ProcedureReport } from '../../lib/reports/types';
import { login } from '../../lib/vault/client';
import { nodeHealth } from '../../lib/vault/health';
import type { ProcedureStatus } from '../../workflows/frame';
import { statusQuery } from '../../workflows/frame';
import { waitFor } from '../../dev-stack/wait';
import { groupAlive, startWorkerProcess, type WorkerProcess, type WorkerProcessOptions } from './worker-process';

type PendingActivity = temporal.api.workflow.v1.IPendingActivityInfo;
const STARTED = temporal.api.enums.v1.PendingActivityState.PENDING_ACTIVITY_STATE_STARTED;

/** What a kill point sees while the run goes on. */
export interface RunView {
  status?: ProcedureStatus;
  pending: PendingActivity[];
}

/** Where in a run the worker host dies. */
export interface KillPoint {
  /** For test names and messages: `step "init target and force-restore" starts`. */
  label: string;
  /** Whether the point needs the server's view of pending activities (slower to poll) or only the status query. */
  needsPending?: boolean;
  reached(view: RunView): boolean;
  /** A further check of the world outside Temporal, asked only once `reached` holds (e.g. what the target answers). */
  confirm?(handle: WorkflowHandle): Promise<boolean>;
}

/** As soon as the status query shows the step (named as in the runbook; a prefix for names with a snapshot key) started. */
export const atStep = (name: string): KillPoint => ({
  label: `step "${name}" starts`,
  reached: (v) => (v.status?.steps ?? []).some((s) => s.name.startsWith(name)),
});

/**
 * Once the procedure's body is done (its last step, `lastStep`, ended) and the frame runs its
 * epilogue: undos, outcome record and report. Those are activities, not steps.
 */
export const inEpilogue = (lastStep: string): KillPoint => ({
  label: "the frame's epilogue runs (undos, outcome, report)",
  reached: (v) => {
    const steps = v.status?.steps ?? [];
    return steps.length > 0 && steps[steps.length - 1].name.startsWith(lastStep) && steps.every((s) => s.endedAt);
  },
});

/**
 * In the middle of a streaming activity: it has started on a worker and heartbeated. The
 * streaming activities heartbeat their byte count from the first chunk on, so a heartbeat
 * means bytes are flowing; the kill then cuts the stream.
 */
export const midStream = (activityType: string): KillPoint => ({
  label: `in the middle of ${activityType}'s stream`,
  needsPending: true,
  reached: (v) => v.pending.some((a) => a.activityType?.name === activityType && a.state === STARTED && (a.heartbeatDetails?.payloads?.length ?? 0) > 0),
});

/**
 * In the middle of a streaming activity that heartbeats before its stream starts (the
 * force-restore heartbeats while it waits for the target to turn active): midStream, once
 * `streaming` also says the stream is under way. The server keeps the first heartbeat's details
 * and throttles the rest, so they cannot tell the phase; the system on the other end can.
 */
export const midStreamWhen = (activityType: string, stream: string, streaming: (handle: WorkflowHandle) => Promise<boolean>): KillPoint => ({
  ...midStream(activityType),
  label: `in the middle of ${activityType}'s ${stream}`,
  confirm: streaming,
});

/**
 * The worker hosts of a test: every one a real `secdr worker` process with its own config,
 * staging directory and metrics port. A replacement host is started *before* a kill (its
 * workflow bundling takes tens of seconds on a loaded machine, and a real replacement host
 * is typically already up), so the recovery measured is Temporal's: sticky-queue and
 * activity timeouts, host queues, retries.
 */
export class WorkerPool {
  readonly started: WorkerProcess[] = [];
  private readonly starting = new Set<Promise<WorkerProcess>>();
  private n = 0;

  constructor(private readonly opts: Omit<WorkerProcessOptions, 'name'> & { prefix: string }) {}

  get live(): WorkerProcess[] {
    return this.started.filter((w) => w.process.alive);
  }

  /** Starts one more worker host (new name, new empty staging directory). */
  add(): Promise<WorkerProcess> {
    const p = startWorkerProcess({ ...this.opts, name: `${this.opts.prefix}-${++this.n}` }).then((w) => {
      this.started.push(w);
      return w;
    });
    this.starting.add(p);
    void p.finally(() => this.starting.delete(p)).catch(() => undefined);
    return p;
  }

  /** Waits until `size` live workers poll, starting the missing ones. */
  async ready(size: number): Promise<WorkerProcess[]> {
    await Promise.all([...this.starting]);
    const missing = size - this.live.length;
    await Promise.all(Array.from({ length: Math.max(0, missing) }, () => this.add()));
    return this.live;
  }

  byIdentity(identity: string): WorkerProcess | undefined {
    return this.started.find((w) => w.identities.has(identity));
  }

  /** Stops every worker host and asserts none of their processes is left running. */
  async stopAll(): Promise<void> {
    await Promise.allSettled([...this.starting]);
    await Promise.all(this.started.map((w) => w.process.stop()));
    const left = this.started.filter((w) => groupAlive(w.pgid));
    assert.deepEqual(left.map((w) => w.name), [], 'no worker process left running');
  }

  /** Every worker host's process group is gone (checked by pid group, so tsx's node child counts). */
  assertNoneRunning(pgids: number[]): void {
    const left = pgids.filter((g) => groupAlive(g));
    assert.deepEqual(left, [], `process groups still running: ${left.join(', ')}`);
  }
}

export interface CrashRun {
  point: string;
  /** Names of the worker hosts killed. */
  killed: string[];
  /** The activity in flight on a killed host at the kill (the server still shows it started there). */
  cutActivity?: string;
  /** The step the status query showed current at the kill: polling is not instant, a quick step may be past. */
  hitStep?: string;
  outcome: ProcedureReport['outcome'];
  report: ProcedureReport;
  error?: string;
  /** Wall seconds from the kill to the run's end. */
  recoverySeconds: number;
  handle: WorkflowHandle;
  pool: WorkerPool;
}

/**
 * Starts a run, waits until it reaches `point`, SIGKILLs the worker host(s) serving it (the
 * one running the activity in flight and the one holding the workflow's sticky cache),
 * starts replacements, and waits for the run to end. Returns the report whether the run
 * succeeded or failed (a failed procedure carries its report in the ProcedureFailed details).
 */
export async function runAndKill(opts: {
  client: Client;
  pool: WorkerPool;
  start: () => Promise<WorkflowHandle>;
  point: KillPoint;
  /** Live workers before the run (the one that takes it and a standby). Default 2. */
  workers?: number;
  timeoutMs?: number;
}): Promise<CrashRun> {
  const { pool, point } = opts;
  await pool.ready(opts.workers ?? 2);
  const handle = await opts.start();
  let view: RunView = { pending: [] };
  for (;;) {
    // A point confirmed outside Temporal aims at a window of a second or less (a stream to a local
    // server): it polls only the server's view, the quickest look, and skips the status query.
    const status = point.confirm ? undefined : await handle.query(statusQuery).catch(() => undefined);
    const desc = point.needsPending || !status ? await handle.describe() : undefined;
    if (desc && desc.status.name !== 'RUNNING') {
      throw new Error(`${handle.workflowId} ended (${desc.status.name}) before the kill point (${point.label}) was reached; last steps: ${JSON.stringify(view.status?.steps.map((s) => s.name))}`);
    }
    view = { pending: desc?.raw.pendingActivities ?? [], status: status ?? view.status };
    if (point.reached(view) && (!point.confirm || (await point.confirm(handle)))) break;
    if (status?.phase && /^(succeeded|verified|failed|cancelled)/.test(status.phase)) {
      throw new Error(`${handle.workflowId} finished (${status.phase}) before the kill point (${point.label}) was reached; steps: ${JSON.stringify(status.steps.map((s) => s.name))}`);
    }
    await sleep(50);
  }

  // The hosts serving the run: the one running the activity in flight, and the one that
  // completed the workflow's last task (its sticky cache holds the workflow). A host the kill
  // point already saw running the activity dies at once: the activity may end while the
  // history is fetched.
  const victims: WorkerProcess[] = [];
  const identities = new Set<string>();
  let killedAt = 0;
  const kill = async (ids: Iterable<string>) => {
    for (const i of ids) identities.add(i);
    const hosts = [...identities].map((i) => pool.byIdentity(i)).filter((w): w is WorkerProcess => w !== undefined && w.process.alive && !victims.includes(w));
    if (hosts.length && !killedAt) killedAt = Date.now();
    victims.push(...hosts);
    await Promise.all(hosts.map((w) => w.kill()));
  };
  const running = (pending: PendingActivity[]) => pending.filter((a) => a.state === STARTED && a.lastWorkerIdentity).map((a) => a.lastWorkerIdentity!);
  await kill(running(view.pending));
  const [desc, history] = await Promise.all([handle.describe(), handle.fetchHistory()]);
  const lastTask = [...(history.events ?? [])].reverse().find((e) => e.workflowTaskCompletedEventAttributes?.identity);
  await kill([...running(desc.raw.pendingActivities ?? []), ...(lastTask ? [lastTask.workflowTaskCompletedEventAttributes!.identity!] : [])]);
  assert.ok(victims.length > 0, `no live worker host matches the identities serving ${handle.workflowId}: ${[...identities].join(', ')}`);
  // Replacement hosts for the next run (and for this one, when no standby is left).
  for (let i = 0; i < victims.length; i++) void pool.add().catch(() => undefined);
  const killedIds = new Set(victims.flatMap((w) => [...w.identities]));
  const after = await handle.describe();
  const cut = (after.raw.pendingActivities ?? []).find((a) => a.state === STARTED && killedIds.has(a.lastWorkerIdentity ?? ''));
  const cutActivity = cut?.activityType?.name ?? undefined;
  const hitStep = view.status?.steps.find((s) => !s.endedAt)?.name;

  const result = await Promise.race([
    settle(handle),
    sleep(opts.timeoutMs ?? 360_000).then(() => {
      throw new Error(`${handle.workflowId} did not end within ${(opts.timeoutMs ?? 360_000) / 1000} s after the kill at ${point.label}`);
    }),
  ]);
  return {
    point: point.label,
    killed: victims.map((w) => w.name),
    cutActivity,
    hitStep,
    ...result,
    recoverySeconds: Math.round((Date.now() - killedAt) / 100) / 10,
    handle,
    pool,
  };
}

/** The run's report, from its result or from the ProcedureFailed failure that carries it. */
export async function settle(handle: WorkflowHandle): Promise<{ outcome: ProcedureReport['outcome']; report: ProcedureReport; error?: string }> {
  try {
    const report = (await handle.result()) as ProcedureReport;
    return { outcome: report.outcome, report };
  } catch (err) {
    if (!(err instanceof WorkflowFailedError)) throw err;
    const cause = err.cause;
    const report = cause instanceof ApplicationFailure ? (cause.details?.[0] as ProcedureReport | undefined) : undefined;
    if (!report) throw new Error(`${handle.workflowId} failed without a report (not through the frame): ${cause?.message ?? err.message}`);
    return { outcome: report.outcome, report, error: cause!.message };
  }
}

/**
 * The bar for a killed run: it completed, or it failed cleanly (an error that says what
 * failed), and every undo it registered was run (`done`) or settled (`not needed`): none
 * failed and none is left pending.
 */
export async function assertEndedCleanly(run: CrashRun, success: ProcedureReport['outcome']): Promise<void> {
  const { report } = run;
  const where = `${run.point} (killed ${run.killed.join(', ')}): ${run.error ?? report.outcome}; compensations ${JSON.stringify(report.compensations)}`;
  assert.ok(report.outcome === success || report.outcome === 'failed', where);
  if (report.outcome === 'failed') {
    assert.ok(run.error && run.error.length > 20 && !/undefined|\[object Object\]/.test(run.error), `a failure must say what failed: ${where}`);
  }
  for (const c of report.compensations) assert.ok(c.outcome === 'done' || c.outcome === 'not needed', `undo "${c.name}" ${c.outcome}: ${where}`);
  assert.ok(report.reportFiles?.json, `the report was written: ${where}`);
  // A closed run's query is answered by replaying it on a worker of its task queue.
  await run.pool.ready(1);
  // On a loaded machine a replacement host may be too busy starting to answer in time: ask again.
  const status = await waitFor(`the status of ${run.handle.workflowId}`, () => run.handle.query(statusQuery), { timeoutMs: 90_000, intervalMs: 1000 });
  assert.deepEqual(status.pendingUndos, [], `no undo left pending: ${where}`);
}

/**
 * After a restore run, killed or not: its target serves no live copy of production. It answers
 * sealed (`after: seal`, sealed by the undo with the restorer from the restored data) or not at
 * all (`after: stop`); only a failed run may leave it otherwise, and then holding nothing of the
 * source: uninitialised, or initialised but never restored (a force-restore cut before Vault
 * applied it), which the restorer AppRole from the source's data proves by not logging in.
 * Returns what it found, for the test log.
 */
export async function assertTargetOutOfService(run: CrashRun, config: SecdrConfig): Promise<string> {
  const { report } = run;
  // A restore report carries its details at the top level (RestoreReport).
  const name = (report as ProcedureReport & { target?: string }).target;
  assert.ok(name, `the restore report names its target: ${JSON.stringify(report).slice(0, 300)}`);
  const target = targetNamed(config, name);
  const where = `target ${name} after the restore killed when ${run.point} (${run.error ?? report.outcome})`;
  const undo = report.compensations.find((c) => c.name === `put ${name} out of service`);
  assert.ok(undo, `${where}: the run registered putting it out of service: ${JSON.stringify(report.compensations)}`);
  assert.deepEqual(report.findings.filter((f) => /left unsealed|keeps serving/.test(f)), [], `${where}: no finding that it stays in service`);
  const state = (await nodeHealth(target.address, target.caFile)).state;
  const expected = target.after === 'stop' ? 'unreachable' : 'sealed';
  if (state === expected) {
    if (target.after === 'seal') assert.match(undo.detail ?? '', /^(already )?sealed$/, `${where}: the undo sealed it`);
    return `${state} (undo: ${undo.detail})`;
  }
  assert.equal(report.outcome, 'failed', `${where}: answers ${state}, not ${expected}: a live copy of production (undo: ${undo.detail})`);
  if (state === 'uninitialized') return `${state}: nothing restored (undo: ${undo.detail})`;
  assert.equal(state, 'active', `${where}: answers ${state}`);
  await assert.rejects(login(target.address, target.restorer!, target.caFile, `${name} restorer (crash check)`), (err: { type?: string }) => {
    assert.equal(err.type, FailureType.VaultPermissionDenied, `${where}: answers active and the restorer does not log in for another reason: ${String(err)}`);
    return true;
  }, `${where}: answers active and the source's restorer logs in: a live copy of production (undo: ${undo.detail})`);
  assert.match(undo.detail ?? '', /holds no restore of this source/, `${where}: the undo says why it left the target up`);
  return `${state}, holds nothing of the source (undo: ${undo.detail})`;
}
