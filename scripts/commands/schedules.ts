import { ScheduleNotFoundError, type Client, type ScheduleOptions } from '@temporalio/client';
import type { SecdrConfig } from '../../lib/config/schema';
import { SA } from '../../lib/search-attributes';
import { restoreInput, snapshotInput } from './inputs';

/** The Schedules the config asks for: a daily snapshot per cluster, a weekly test restore. */
export function desiredSchedules(config: SecdrConfig): ScheduleOptions[] {
  const out: ScheduleOptions[] = [];
  for (const cluster of config.clusters) {
    out.push({
      scheduleId: `secdr-snapshot-${cluster.name}`,
      spec: { cronExpressions: [cluster.schedule] },
      action: {
        type: 'startWorkflow',
        workflowType: 'vaultSnapshotWorkflow',
        workflowId: `vault-snapshot-${cluster.name}`,
        taskQueue: config.temporal.taskQueue,
        args: [snapshotInput(config, cluster.name)],
        typedSearchAttributes: [
          { key: SA.cluster, value: cluster.name },
          { key: SA.procedure, value: 'vault-snapshot' },
        ],
      },
      // A snapshot still running when the next is due: skip, do not pile up.
      policies: { overlap: 'SKIP', catchupWindow: '1 hour' },
      memo: { managedBy: 'secdr schedules apply' },
    });
    if (config.restore.testTarget && config.restore.testSchedule) {
      out.push({
        scheduleId: `secdr-test-restore-${cluster.name}`,
        spec: { cronExpressions: [config.restore.testSchedule] },
        action: {
          type: 'startWorkflow',
          workflowType: 'vaultRestoreWorkflow',
          workflowId: `vault-restore-${cluster.name}-to-${config.restore.testTarget}`,
          taskQueue: config.temporal.taskQueue,
          args: [restoreInput(config, { cluster: cluster.name, target: config.restore.testTarget })],
          typedSearchAttributes: [
            { key: SA.cluster, value: cluster.name },
            { key: SA.procedure, value: 'vault-restore' },
          ],
        },
        policies: { overlap: 'SKIP', catchupWindow: '1 hour' },
        memo: { managedBy: 'secdr schedules apply' },
      });
    }
  }
  return out;
}

/** Creates missing Schedules and updates existing ones in place: running it twice changes nothing the second time. */
export async function applySchedules(client: Client, config: SecdrConfig): Promise<{ id: string; action: 'created' | 'updated' }[]> {
  const results: { id: string; action: 'created' | 'updated' }[] = [];
  for (const desired of desiredSchedules(config)) {
    const handle = client.schedule.getHandle(desired.scheduleId);
    try {
      await handle.describe();
      await handle.update((prev) => ({ ...prev, spec: desired.spec, action: desired.action, policies: { ...prev.policies, ...desired.policies } }));
      results.push({ id: desired.scheduleId, action: 'updated' });
    } catch (err) {
      if (!(err instanceof ScheduleNotFoundError)) throw err;
      await client.schedule.create(desired);
      results.push({ id: desired.scheduleId, action: 'created' });
    }
  }
  return results;
}
