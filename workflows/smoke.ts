import { proxyActivities, sleep } from '@temporalio/workflow';
import type { createSmokeActivities } from '../activities/smoke';

const { echo } = proxyActivities<ReturnType<typeof createSmokeActivities>>({
  startToCloseTimeout: '30 seconds',
  retry: { maximumAttempts: 3 },
});

/** Runs one activity after an optional timer: the smallest proof the stack works. */
export async function smokeWorkflow(input: { message: string; sleepMs?: number }): Promise<string> {
  if (input.sleepMs) await sleep(input.sleepMs);
  return echo(input.message);
}
