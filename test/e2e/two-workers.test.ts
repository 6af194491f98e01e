import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import type { WorkflowHandle } from '@temporalio/client';
import type { temporal } from '@temporalio/proto';
import type { RestoreReport } from '../../lib/reports/restore';
import { vaultRestore } from '../../procedures/vault-restore';
import { vaultSnapshot } from '../../procedures/vault-snapshot';
import { vaultRestoreWorkflow, vaultSnapshotWorkflow } from '../../workflows';
import type { SnapshotResult } from '../../workflows/vault-snapshot';
import { WorkerPool } from '../harness/crash';
import { MOTO_ENV, startDrStack, type DrStack } from '../../dev-stack/dr-stack';
import { tempDir } from '../harness/temp';
import { filesUnder } from '../harness/worker-process';

/** Which worker identity started each activity type, in history order. */
async function activityHosts(handle: WorkflowHandle): Promise<{ type: string; identity: string }[]> {
  const events: temporal.api.history.v1.IHistoryEvent[] = (await handle.fetchHistory()).events ?? [];
  const types = new Map<string, string>();
  const out: { type: string; identity: string }[] = [];
  for (const e of events) {
    if (e.activityTaskScheduledEventAttributes) types.set(String(e.eventId), e.activityTaskScheduledEventAttributes.activityType?.name ?? '?');
    const started = e.activityTaskStartedEventAttributes;
    if (started) out.push({ type: types.get(String(started.scheduledEventId)) ?? '?', identity: started.identity ?? '?' });
  }
  return out;
}

describe('two secdr worker processes on one task queue, eager activity dispatch off', function () {
  this.timeout(600_000);
  const tmp = tempDir('two-workers');
  let stack: DrStack;
  let pool: WorkerPool;
  const identities = new Set<string>();

  before(async () => {
    stack = await startDrStack({
      dir: tmp.dir,
      targets: 5,
      taskQueue: `two-workers-${randomUUID()}`,
      // Every activity goes through the task queue, so either worker may take any step.
      temporalArgs: ['--dynamic-config-value', 'system.enableActivityEagerExecution=false'],
    });
    pool = new WorkerPool({ dir: tmp.dir, prefix: 'host', config: stack.raw, temporalAddress: stack.temporal.address, env: MOTO_ENV });
    await pool.ready(2);
  });

  after(async () => {
    await pool?.stopAll();
    await stack?.stop();
    tmp.cleanup();
  });

  it('completes five snapshots, every one verified and stored', async () => {
    for (let i = 0; i < 5; i++) {
      const input = vaultSnapshot.input(stack.config, { cluster: 'src' });
      const handle = await stack.client.workflow.start(vaultSnapshotWorkflow, { taskQueue: stack.taskQueue, workflowId: `two-workers-snapshot-${i}-${randomUUID()}`, args: [input] });
      const r = (await handle.result()) as SnapshotResult;
      assert.equal(r.outcome, 'succeeded', r.error);
      assert.ok(r.bytes > 0 && r.uploads.length === 1, JSON.stringify(r.uploads));
      for (const a of await activityHosts(handle)) identities.add(a.identity);
    }
  });

  it('completes five restores into fresh targets, each restore on the host that downloaded its snapshot', async () => {
    for (let i = 0; i < 5; i++) {
      const target = stack.nextTarget();
      const input = { ...vaultRestore.input(stack.config, { cluster: 'src', target }), pollSeconds: 1 };
      const handle = await stack.client.workflow.start(vaultRestoreWorkflow, { taskQueue: stack.taskQueue, workflowId: `two-workers-restore-${i}-${randomUUID()}`, args: [input] });
      const r = (await handle.result()) as RestoreReport;
      assert.equal(r.outcome, 'verified', r.error);
      assert.deepEqual(r.checks.map((c) => c.ok), [true, true]);
      assert.ok(r.compensations.every((c) => c.outcome === 'done'), JSON.stringify(r.compensations));
      const hosts = await activityHosts(handle);
      const download = hosts.find((a) => a.type === 'downloadSnapshot');
      const restore = hosts.find((a) => a.type === 'restoreSnapshot');
      const discard = hosts.find((a) => a.type === 'discardStagedFile');
      assert.ok(download && restore && discard, JSON.stringify(hosts));
      assert.equal(restore.identity, download.identity, 'the restore reads the file on the host that downloaded it');
      assert.equal(discard.identity, download.identity, 'the downloaded copy is removed where it is');
      for (const a of hosts) identities.add(a.identity);
    }
  });

  it('both workers took tasks, and both staging directories are empty afterwards', () => {
    const hosts = new Set([...identities].map((id) => pool.started.find((w) => w.identities.has(id))?.name));
    assert.deepEqual([...hosts].sort(), ['host-1', 'host-2'], `activity identities: ${[...identities].join(', ')}`);
    for (const w of pool.started) assert.deepEqual(filesUnder(w.stagingDir), [], `staging of ${w.name}`);
  });
});
