import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { RestoreReport } from '../../lib/reports/restore';
import { startTemporalDevServer, type TemporalDevServer } from '../../dev-stack/temporal';
import { waitFor } from '../../dev-stack/wait';
import { vaultRestore } from '../../procedures/vault-restore';
import { vaultSnapshot } from '../../procedures/vault-snapshot';
import { vaultRestoreWorkflow, vaultSnapshotWorkflow } from '../../workflows';
import { restoreStatusQuery } from '../../workflows/vault-restore';
import type { SnapshotResult } from '../../workflows/vault-snapshot';
import { WorkerPool } from '../harness/crash';
import { MOTO_ENV, startDrStack, type DrStack } from '../../dev-stack/dr-stack';
import { tempDir } from '../harness/temp';

describe('the Temporal dev server itself restarts in the middle of a restore', function () {
  this.timeout(480_000);
  const tmp = tempDir('temporal-restart');
  let stack: DrStack;
  let pool: WorkerPool;
  let restarted: TemporalDevServer | undefined;

  before(async () => {
    stack = await startDrStack({ dir: tmp.dir, targets: 1, taskQueue: `temporal-restart-${randomUUID()}`, fillMiB: 8 });
    pool = new WorkerPool({ dir: tmp.dir, prefix: 'host', config: stack.raw, temporalAddress: stack.temporal.address, env: MOTO_ENV });
    await pool.ready(1);
  });

  after(async () => {
    await pool?.stopAll();
    await restarted?.process.stop();
    await stack?.stop();
    tmp.cleanup();
  });

  it('the restore resumes from the persisted history on the same port and db file, and is verified; the worker reconnects by itself', async () => {
    const snap = (await stack.client.workflow.execute(vaultSnapshotWorkflow, {
      taskQueue: stack.taskQueue,
      workflowId: `restart-snapshot-${randomUUID()}`,
      args: [vaultSnapshot.input(stack.config, { cluster: 'src' })],
    })) as SnapshotResult;
    assert.equal(snap.outcome, 'succeeded', snap.error);

    const handle = await stack.client.workflow.start(vaultRestoreWorkflow, {
      taskQueue: stack.taskQueue,
      workflowId: `restart-restore-${randomUUID()}`,
      args: [{ ...vaultRestore.input(stack.config, { cluster: 'src', target: stack.nextTarget() }), pollSeconds: 1 }],
    });
    const midway = await waitFor(
      'the restore to start downloading',
      async () => {
        const s = await handle.query(restoreStatusQuery);
        return s.steps.some((x) => x.name.startsWith('download and verify')) && s;
      },
      { timeoutMs: 120_000, intervalMs: 100 },
    );

    // Stop the server mid-restore (SIGTERM, as a service restart would), keep it down a moment, start it on the same port and db file.
    const port = Number(stack.temporal.address.split(':').pop());
    const oldPid = stack.temporal.process.pid;
    await stack.temporal.process.stop();
    await sleep(3000);
    restarted = await startTemporalDevServer({ dir: join(tmp.dir, 'temporal'), port });
    assert.equal(restarted.address, stack.temporal.address);
    assert.notEqual(restarted.process.pid, oldPid);

    const report = (await handle.result()) as RestoreReport;
    assert.equal(report.outcome, 'verified', report.error);
    assert.deepEqual(report.checks.map((c) => c.ok), [true, true]);
    // The steps before the restart are kept, not run again: the history survived in the db file.
    const before = midway.steps.filter((s) => s.endedAt).map((s) => s.name);
    for (const name of before) assert.equal(report.steps.filter((s) => s.name === name).length, 1, `${name} ran once: ${JSON.stringify(report.steps.map((s) => s.name))}`);
    // The same worker process served the whole run: it reconnected to the restarted server.
    assert.equal(pool.started.length, 1);
    assert.ok(pool.started[0].process.alive, 'the worker survived the server restart');
    const history = await handle.fetchHistory();
    const identities = new Set((history.events ?? []).map((e) => e.workflowTaskCompletedEventAttributes?.identity).filter(Boolean));
    assert.deepEqual([...identities].filter((i) => !pool.started[0].identities.has(i!)), []);
  });
});
