import { proxyActivities, workflowInfo } from '@temporalio/workflow';
import type { createAlertingDrillActivities } from '../activities/alerting-drill';
import type { ProcedureReport } from '../lib/reports/types';
import { profiles } from './activity-profiles';
import { runProcedure } from './frame';

type Drill = ReturnType<typeof createAlertingDrillActivities>;
const quick = proxyActivities<Drill>(profiles.quick);
const delivery = proxyActivities<Drill>(profiles.delivery);
// Ending the drill alert is what stops a test page from staying open: retried like a side effect.
const undo = proxyActivities<Drill>(profiles.sideEffect);

export interface AlertingDrillInput {
  /** Extra labels (from alertingDrill.labels) so the drill alert takes the same route as real pages. */
  labels: Record<string, string>;
  /** Seconds from posting until the notification arrives, group_wait included (default 120). */
  sloSeconds: number;
  /** Seconds from ending the alert until the resolved notification arrives. */
  resolvedSloSeconds: number;
}

export interface AlertingDrillDetails {
  drillId: string;
  receiver?: string;
  route?: string;
  groupWaitSeconds?: number;
  /** Seconds from post to arrival as the receiver recorded it (the SLO is measured in workflow time). */
  deliveredAfterSeconds?: number;
  resolvedAfterSeconds?: number;
}

export type AlertingDrillReport = ProcedureReport & AlertingDrillDetails;

/** A delivery wait gives up at three times its SLO (at most 10 minutes), so a late notification is still measured. */
const hardLimit = (slo: number) => Math.min(600, slo * 3);

/**
 * Alerting-pipeline drill (docs/runbooks/quarterly-drill.md#alerting): a uniquely labelled
 * critical test alert goes through the real routing tree and must reach the on-call receiver
 * within the SLO, and its resolution must arrive too. Ending the alert is registered as the undo
 * before it is posted, so a failed or cancelled drill never leaves a test page open.
 */
export async function alertingDrillWorkflow(input: AlertingDrillInput): Promise<AlertingDrillReport> {
  const drillId = workflowInfo().workflowId;
  const d: AlertingDrillDetails = { drillId };
  const labels = { ...input.labels, alertname: 'DR_DRILL_TEST', severity: 'critical', drill_id: drillId };
  return runProcedure({ procedure: 'alerting', failurePrefix: 'alerting drill failed' }, d, async (p) => {
    const { routes, notes } = await p.step(
      'Resolve the route of the drill alert',
      () => quick.resolveDrillRoute({ labels }),
      (r) => r.routes.map((x) => `${x.receiver} (${x.integrations.join(', ')}) via ${x.path}, group_wait ${x.groupWaitSeconds} s`).join('; '),
    );
    const route = routes.find((r) => r.integrations.length > 0)!;
    Object.assign(d, { receiver: route.receiver, route: route.path, groupWaitSeconds: route.groupWaitSeconds });
    notes.forEach((n) => p.finding(n));
    if (route.groupWaitSeconds >= input.sloSeconds) {
      p.finding(`route ${route.path} waits ${route.groupWaitSeconds} s (group_wait) before the first page: that alone uses up the ${input.sloSeconds} s delivery SLO`);
    }

    const ended = p.compensate('End the drill alert', () => undo.postDrillAlert({ labels, end: true }));
    const delivered = p.slo('notification delivered', input.sloSeconds);
    const { postedAt } = await p.step('Post the drill alert to Alertmanager', () => quick.postDrillAlert({ labels }), (r) => `posted at ${r.postedAt}`);
    await p.step('Check the drill alert is neither silenced nor inhibited', () => quick.checkDrillAlertActive({ labels, route: route.path }), (r) => `active for ${r.receivers.join(', ')}`);
    const firing = await p.step(
      'Notification reaches the on-call receiver',
      () => delivery.waitForDelivery({ drillId, status: 'firing', since: postedAt, route: route.path, timeoutSeconds: hardLimit(input.sloSeconds) }),
      (r) => `${r.receiver} after ${r.delaySeconds.toFixed(1)} s`,
    );
    delivered.met();
    d.deliveredAfterSeconds = firing.delaySeconds;

    const resolved = p.slo('resolved notification delivered', input.resolvedSloSeconds);
    const { postedAt: endedAt } = await p.step('End the drill alert', () => quick.postDrillAlert({ labels, end: true }), (r) => `ended at ${r.postedAt}`);
    ended.settle('the drill ended the alert itself');
    const back = await p.step(
      'Resolved notification reaches the receiver',
      () => delivery.waitForDelivery({ drillId, status: 'resolved', since: endedAt, route: route.path, timeoutSeconds: hardLimit(input.resolvedSloSeconds) }),
      (r) => `${r.receiver} after ${r.delaySeconds.toFixed(1)} s`,
    );
    resolved.met();
    d.resolvedAfterSeconds = back.delaySeconds;
  });
}
