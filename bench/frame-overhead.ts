/**
 * What the procedure frame (workflows/frame/) adds to a restore: the time a run spends outside
 * its runbook steps. From each run's own history on a real dev server:
 *
 *   before = first runbook activity scheduled − workflow started      (set-up: search attributes, SLO timers)
 *   after  = workflow completed − last runbook activity closed        (epilogue: outcome record, report, undos)
 *
 * The frame's own activities (recordProcedureOutcome, writeProcedureReport, postAlert) count
 * as frame, everything else as runbook; run as local activities (the epilogue since it was
 * patched to) they are markers in the history, inside `after`. Both figures also hold the
 * workflow-task round trips any workflow pays, so they bound the frame's cost from above.
 * The bar (issue 7): no more than 1 s per restore.
 *
 *   npx tsx bench/frame-overhead.ts [RUNS]      # default 5; writes bench/out/frame-overhead.md
 *
 * Real servers: the DR stack (Temporal dev server, moto, PostgreSQL, OpenBao source + RUNS
 * fresh DR targets); the production worker pair in this process.
 */
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { temporal } from '@temporalio/proto';
import { NativeConnection } from '@temporalio/worker';
import { startDrStack, type DrStack } from '../dev-stack/dr-stack';
import { stopAll, stopAllOnExit } from '../dev-stack/supervisor';
import { vaultRestore } from '../procedures/vault-restore';
import { vaultSnapshot } from '../procedures/vault-snapshot';
import { createHostWorkers } from '../workers/worker';

const FRAME_ACTIVITIES = new Set(['recordProcedureOutcome', 'writeProcedureReport', 'postAlert']);

interface RunOverhead {
  totalMs: number;
  beforeMs: number;
  afterMs: number;
  frameActivitiesMs: number;
}

const ms = (t?: { seconds?: unknown; nanos?: number | null } | null) => (t ? Number(t.seconds ?? 0) * 1000 + (t.nanos ?? 0) / 1e6 : NaN);

export function overheadOf(history: temporal.api.history.v1.IHistory): RunOverhead {
  const events = history.events ?? [];
  const typeOf = new Map<string, string>();
  let start = NaN;
  let end = NaN;
  let firstBody = NaN;
  let lastBody = NaN;
  let frameMs = 0;
  const scheduledAt = new Map<string, number>();
  for (const e of events) {
    const t = ms(e.eventTime);
    const id = String(e.eventId);
    if (e.workflowExecutionStartedEventAttributes) start = t;
    if (e.workflowExecutionCompletedEventAttributes) end = t;
    const sched = e.activityTaskScheduledEventAttributes;
    if (sched) {
      const name = sched.activityType?.name ?? '';
      typeOf.set(id, name);
      scheduledAt.set(id, t);
      if (!FRAME_ACTIVITIES.has(name) && Number.isNaN(firstBody)) firstBody = t;
    }
    const closed = e.activityTaskCompletedEventAttributes ?? e.activityTaskFailedEventAttributes ?? e.activityTaskTimedOutEventAttributes;
    if (closed) {
      const sid = String(closed.scheduledEventId);
      if (FRAME_ACTIVITIES.has(typeOf.get(sid) ?? '')) frameMs += t - (scheduledAt.get(sid) ?? t);
      else lastBody = t;
    }
  }
  return { totalMs: end - start, beforeMs: firstBody - start, afterMs: end - lastBody, frameActivitiesMs: frameMs };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function main(runs: number): Promise<void> {
  stopAllOnExit();
  const dir = mkdtempSync(join(tmpdir(), 'secdr-bench-frame-'));
  // PostgreSQL runs as its own user when this runs as root: it must be able to traverse here.
  chmodSync(dir, 0o755);
  let stack: DrStack | undefined;
  let stopWorkers: (() => Promise<void>) | undefined;
  try {
    stack = await startDrStack({ dir, targets: runs, taskQueue: 'bench-frame-overhead' });
    const connection = await NativeConnection.connect({ address: stack.temporal.address });
    const { worker, hostWorker } = await createHostWorkers({ config: stack.config, connection, namespace: 'default' });
    const running = Promise.all([worker.run(), hostWorker.run()]);
    stopWorkers = async () => {
      worker.shutdown();
      hostWorker.shutdown();
      await running.catch(() => undefined);
      await connection.close();
    };
    const { client, config, taskQueue } = stack;
    await client.workflow.execute('vaultSnapshotWorkflow', { taskQueue, workflowId: 'bench-frame-snapshot', args: [vaultSnapshot.input(config, {})] });
    const results: RunOverhead[] = [];
    for (let i = 0; i < runs; i++) {
      const h = await client.workflow.start('vaultRestoreWorkflow', { taskQueue, workflowId: `bench-frame-restore-${i}`, args: [vaultRestore.input(config, { target: stack.nextTarget() })] });
      await h.result();
      const o = overheadOf(await h.fetchHistory());
      results.push(o);
      console.log(`restore ${i + 1}/${runs}: ${(o.totalMs / 1000).toFixed(2)} s, frame before ${o.beforeMs.toFixed(0)} ms, after ${o.afterMs.toFixed(0)} ms`);
    }
    const frame = results.map((r) => r.beforeMs + r.afterMs);
    const lines = [
      `Frame overhead on a restore (${runs} restores into fresh OpenBao targets, ${new Date().toISOString().slice(0, 10)}, \`npx tsx bench/frame-overhead.ts\`)`,
      '',
      '| run | restore wall time (s) | frame before the first step (ms) | frame after the last step (ms) | frame total (ms) | frame task-queue activities (ms) |',
      '|---|---|---|---|---|---|',
      ...results.map((r, i) => `| ${i + 1} | ${(r.totalMs / 1000).toFixed(2)} | ${r.beforeMs.toFixed(0)} | ${r.afterMs.toFixed(0)} | ${(r.beforeMs + r.afterMs).toFixed(0)} | ${r.frameActivitiesMs.toFixed(0)} |`),
      '',
      `Median frame total ${median(frame).toFixed(0)} ms, max ${Math.max(...frame).toFixed(0)} ms (bar: ≤ 1000 ms per restore).`,
    ];
    const out = resolve(__dirname, 'out');
    mkdirSync(out, { recursive: true });
    writeFileSync(join(out, 'frame-overhead.md'), `${lines.join('\n')}\n`);
    console.log(lines.join('\n'));
  } finally {
    await stopWorkers?.();
    await stack?.stop();
    await stopAll();
    rmSync(dir, { recursive: true, force: true });
  }
}

if (require.main === module) {
  main(Number(process.argv[2] ?? 5)).then(
    () => process.exit(0),
    (err: unknown) => {
      console.error(err instanceof Error ? err.stack : err);
      process.exit(1);
    },
  );
}
