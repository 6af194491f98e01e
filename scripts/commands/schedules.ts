import { ScheduleNotFoundError, type Client, type ScheduleOptions } from '@temporalio/client';
import type { SecdrConfig } from '../../lib/config/schema';
import { SA } from '../../lib/search-attributes';
import { registry } from '../../procedures';

/** The Schedules the config asks for, from every registered procedure (daily snapshot, weekly test restore, drills). */
export function desiredSchedules(config: SecdrConfig): ScheduleOptions[] {
  const out: ScheduleOptions[] = [];
  for (const entry of registry) {
    for (const s of entry.schedules?.(config) ?? []) {
      const cluster = entry.cluster?.(s.input);
      out.push({
        scheduleId: s.scheduleId,
        spec: { cronExpressions: [s.cron] },
        action: {
          type: 'startWorkflow',
          workflowType: entry.workflowType,
          workflowId: s.workflowId,
          taskQueue: config.temporal.taskQueue,
          args: [s.input],
          typedSearchAttributes: [...(cluster ? [{ key: SA.cluster, value: cluster }] : []), { key: SA.procedure, value: entry.name }],
        },
        // A run still going when the next is due: skip, do not pile up.
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
