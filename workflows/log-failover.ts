import { ApplicationFailure, patched, proxyActivities, sleep, workflowInfo } from '@temporalio/workflow';
import type { createLogActivities, LogRole } from '../activities/logs';
import type { CanaryCounts, LogFailoverDetails, LogFailoverVariant } from '../lib/logs/drill-types';
import type { createPlatformActivities } from '../activities/platform';
import { FailureType } from '../lib/failure-types';
import { BOTH_DOWN_MIN_OUTAGE_SECONDS } from '../lib/logs/both-down-window';
import type { ComponentState, StopRecord } from '../lib/platform/adapter';
import type { ProcedureReport } from '../lib/reports/types';
import { profiles } from './activity-profiles';
import { elapsedSeconds, runProcedure, type Procedure } from './frame';

type Logs = ReturnType<typeof createLogActivities>;
type Platform = ReturnType<typeof createPlatformActivities>;

const logs = proxyActivities<Logs>(profiles.quick);
const platform = proxyActivities<Platform>(profiles.platform);
const platformQuick = proxyActivities<Platform>(profiles.quick);


/** Plain settings from the config (no secrets: credentials stay in the worker's config). */
export interface LogFailoverInput {
  variant: LogFailoverVariant;
  /** Component names of the backends (for the platform adapter and the report). */
  primary: string;
  secondary: string;
  /** Seconds the backend stays down while numbered canaries are emitted. */
  outageWindowSeconds: number;
  canaryIntervalSeconds: number;
  /** Seconds from the stop until the first outage canary must be in the secondary. */
  sloSeconds: number;
  /** Seconds after the restart within which every outage canary must reach the stopped backend(s). */
  catchUpLimitSeconds: number;
  /** Steady state: seconds to wait for the first canary in both backends. Default 60. */
  steadyStateTimeoutSeconds?: number;
}

export type { CanaryCounts, LogFailoverDetails, LogFailoverVariant } from '../lib/logs/drill-types';

export type LogFailoverReport = ProcedureReport & { details: LogFailoverDetails };

const round = (s: number) => Math.round(s);

/**
 * Log-pipeline failover drill (docs/runbooks/log-failover.md; step names are the runbook's).
 * Proves the shipper fails over to the secondary within the SLO while the primary is down,
 * and that the primary receives every line from the outage once it is back (disk backfill).
 * The restart of each stopped backend is registered before the stop, so a failure,
 * cancellation or a killed worker still puts it back.
 */
export async function logFailoverWorkflow(input: LogFailoverInput): Promise<LogFailoverReport> {
  const run = workflowInfo().workflowId;
  const since = new Date().toISOString();
  const component: Record<LogRole, string> = { primary: input.primary, secondary: input.secondary };

  /** Polls `role` until every number in `expected` is there or `limitSeconds` pass; returns what it saw. */
  const waitForCanaries = async (role: LogRole, expected: number[], limitSeconds: number): Promise<number[]> => {
    const deadline = elapsedSeconds() + limitSeconds;
    for (;;) {
      const seen = await logs.canariesIn({ role, run, since });
      const have = new Set(seen);
      if (expected.every((n) => have.has(n)) || elapsedSeconds() >= deadline) return seen;
      await sleep('1 second');
    }
  };

  const report = await runProcedure({ procedure: 'log-failover', compensateOnSuccess: true }, {}, async (p: Procedure) => {
    // The report's details are this drill's fields; filled in as the drill goes.
    const details = Object.assign(p.details, { variant: input.variant, run, timeline: [] }) as unknown as LogFailoverDetails;
    const mark = (event: string) => details.timeline.push({ at: new Date().toISOString(), seconds: round(elapsedSeconds()), event });
    p.phase('steady state');
    const secondary = await p.step('Check the secondary log backend is healthy', () => logs.logBackendReady({ role: 'secondary' }), (r) => r.detail);
    if (!secondary.ready) {
      throw ApplicationFailure.create({
        type: FailureType.LogBackendUnavailable,
        nonRetryable: true,
        message:
          `refusing to start: the secondary log backend (${secondary.component}) is not healthy: ${secondary.detail}. ` +
          'Stopping the primary now would blind the last backend; fix the secondary first',
      });
    }
    const primary = await p.step('Check the primary log backend is healthy', () => logs.logBackendReady({ role: 'primary' }), (r) => r.detail);
    if (!primary.ready) {
      throw ApplicationFailure.create({
        type: FailureType.LogBackendUnavailable,
        nonRetryable: true,
        message: `the primary log backend (${primary.component}) is not healthy before the drill: ${primary.detail}; the drill proves nothing from here`,
      });
    }
    const stateBefore: Partial<Record<LogRole, ComponentState>> = {};
    for (const role of ['primary', 'secondary'] as const) {
      const state = await p.step(`Check the drill can stop and start the ${role} log backend`, () => platformQuick.componentStatus({ component: component[role], preflight: true }), (s) => s.detail);
      stateBefore[role] = state;
    }
    await p.step('Send a steady-state canary and see it in both backends', async () => {
      await logs.emitCanary({ run, seq: 0 });
      for (const role of ['primary', 'secondary'] as const) {
        const seen = await waitForCanaries(role, [0], input.steadyStateTimeoutSeconds ?? 60);
        if (!seen.includes(0)) {
          throw ApplicationFailure.create({
            type: FailureType.LogsLost,
            nonRetryable: true,
            message: `steady state not reached: the canary did not reach the ${role} backend (${component[role]}) within ${input.steadyStateTimeoutSeconds ?? 60} s; check the shipper's output to it`,
          });
        }
      }
      return 'in both backends';
    }, (r) => r);
    mark('steady state: canary 0 in both backends');
    if (input.variant === 'dry-run') return;

    p.phase('outage');
    const stopped: LogRole[] = input.variant === 'both-down' ? ['primary', 'secondary'] : ['primary'];
    const records: Partial<Record<LogRole, StopRecord>> = {};
    const undos = stopped.map((role) => {
      // Registered before the stop: a crash between the two still restarts the backend. Without
      // the stop's record (cancelled or failed mid-stop) the way back is the steady state.
      const undo = p.compensate(`Restart the ${role} log backend`, () =>
        platform.startComponent({ component: component[role], record: records[role], before: stateBefore[role] }),
      );
      return { role, undo };
    });
    for (const role of stopped) {
      const record = await p.step(`Stop the ${role} log backend`, () => platform.stopComponent({ component: component[role], before: stateBefore[role] }), (r) =>
        r.wasStopped ? `${r.component} was already stopped` : `${r.component} stopped (${r.adapter})`,
      );
      // A retry after a killed worker finds it stopped; `before` makes the record say the drill stopped it.
      records[role] = record;
      mark(`${role} stopped`);
    }
    const slo = input.variant === 'primary-down' ? p.slo('first outage canary in the secondary', input.sloSeconds) : undefined;
    const stoppedAt = elapsedSeconds();

    const sent: number[] = [];
    const windowEnd = elapsedSeconds() + input.outageWindowSeconds;
    await p.step(`Send numbered canaries for ${input.outageWindowSeconds} s`, async () => {
      while (elapsedSeconds() < windowEnd) {
        const seq = sent.length + 1;
        await logs.emitCanary({ run, seq });
        sent.push(seq);
        if (slo && !slo.reached && (await logs.canariesIn({ role: 'secondary', run, since })).some((n) => n >= 1)) {
          slo.met();
          details.failoverDelaySeconds = round(elapsedSeconds() - stoppedAt);
          mark(`first outage canary in the secondary (${details.failoverDelaySeconds} s after the stop)`);
        }
        await sleep(input.canaryIntervalSeconds * 1000);
      }
      return sent.length;
    }, (n) => `${n} canaries sent (1…${n})`);
    if (slo && !slo.reached) {
      // A window shorter than the SLO: keep looking until the limit so the delay is still measured.
      await p.step('Wait for the first outage canary in the secondary', async () => {
        const seen = await waitForCanaries('secondary', [1], Math.max(0, stoppedAt + input.sloSeconds - elapsedSeconds()));
        if (seen.some((n) => n >= 1)) {
          slo.met();
          details.failoverDelaySeconds = round(elapsedSeconds() - stoppedAt);
          mark(`first outage canary in the secondary (${details.failoverDelaySeconds} s after the stop)`);
        }
        return seen.length;
      }, (n) => `${n} canaries in the secondary`);
    }
    // both-down: what should have fired and did not (alert check or detector configured); fails the drill after the recovery.
    const notFired: string[] = [];
    if (input.variant === 'both-down') {
      // Before this patch a missing alert was only a finding (and LogPipelineDown alone missing not even that).
      const alertsRequired = patched('both-down-alerts-required');
      const firing = await p.step('Check the pipeline alerts fire', () => logs.firingPipelineAlerts(), (a) =>
        a === undefined ? 'not checked: no logPipeline.prometheusUrl' : a.length ? `firing: ${a.join(', ')}` : 'none firing',
      );
      details.alertsFiring = firing;
      if (firing === undefined) p.finding('both-down: the pipeline alerts were not checked; set logPipeline.prometheusUrl so the drill proves they fire');
      else if (alertsRequired) {
        if (!firing.some((a) => a === 'LogPipelineDown' || a.startsWith('LogPipelineDown{'))) {
          notFired.push(
            `LogPipelineDown was not firing in Prometheus after both backends were down for ${input.outageWindowSeconds} s (firing: ${firing.length ? firing.join(', ') : 'none'}); ` +
              `check that logPipeline.prometheusUrl scrapes the shipper (job "vlagent" or "fluent-bit") with deploy/prometheus/rules/log-pipeline.yml loaded, and that the window is at least ${BOTH_DOWN_MIN_OUTAGE_SECONDS} s`,
          );
        }
      } else if (firing.length === 0) p.finding(`both-down: no pipeline alert (${['VlagentRemoteWriteErrors', 'LogPipelineDown'].join(' / ')}) was firing with both backends down for ${input.outageWindowSeconds} s`);
      const detector = await p.step('Run the host-level degraded-mode detector', () => logs.hostDetectorFindings(), (d) =>
        d === undefined
          ? 'not run: no logPipeline.hostDetector'
          : `${d.findings.length} finding(s); emergency webhook ${d.sentToEmergencyWebhook ? 'paged' : `not paged (${d.detail})`}`,
      );
      details.hostDetector = detector;
      const detectorGap =
        detector === undefined || (detector.exitCode === 1 && detector.sentToEmergencyWebhook)
          ? undefined
          : detector.exitCode !== 1
            ? 'the host-level detector saw the central log endpoint as ready with both backends down, so it did not page; check its LOG_READY_URL (the primary backend\'s readiness URL)'
            : `the host-level detector saw central logging down but could not page the emergency webhook: ${detector.detail}; check logPipeline.hostDetector.emergencyWebhook`;
      if (detector === undefined) p.finding('both-down: the host-level detector was not run; set logPipeline.hostDetector so the drill proves it pages the emergency webhook');
      else if (detectorGap === undefined) mark('host-level detector paged the emergency webhook');
      else if (alertsRequired) notFired.push(detectorGap);
      else p.finding(`both-down: ${detectorGap}`);
      for (const gap of notFired) p.finding(`both-down: ${gap}`);
    }

    p.phase('recovery');
    for (const { role, undo } of [...undos].reverse()) {
      await p.step(`Restart the ${role} log backend`, () => platform.startComponent({ component: component[role], record: records[role] }), (s) => s.detail);
      undo.settle('restarted by the drill');
      mark(`${role} restarted`);
      await p.step(`Confirm the ${role} log backend is ready`, async () => {
        const deadline = elapsedSeconds() + 60;
        for (;;) {
          const r = await logs.logBackendReady({ role });
          if (r.ready) return r.detail;
          if (elapsedSeconds() >= deadline) {
            throw ApplicationFailure.create({ type: FailureType.LogBackendUnavailable, nonRetryable: true, message: `${role} log backend not ready 60 s after its restart: ${r.detail}` });
          }
          await sleep('1 second');
        }
      }, (d) => d);
    }
    const readyAt = elapsedSeconds();
    mark(stopped.length > 1 ? 'both backends ready' : 'primary ready');

    const counts: Partial<Record<LogRole, CanaryCounts>> = {};
    const catchUp = async (role: LogRole) => {
      const seen = await waitForCanaries(role, sent, Math.max(0, readyAt + input.catchUpLimitSeconds - elapsedSeconds()));
      const have = new Set(seen);
      counts[role] = { received: sent.filter((n) => have.has(n)).length, missing: sent.filter((n) => !have.has(n)) };
      return counts[role];
    };
    for (const role of stopped) {
      const c = await p.step(`Wait for every outage canary in the ${role}`, () => catchUp(role), (c) =>
        `${c.received}/${sent.length} received${c.missing.length ? `, missing ${c.missing.join(', ')}` : ''}`,
      );
      if (c.missing.length === 0) mark(`${role} caught up`);
    }
    details.catchUpSeconds = round(elapsedSeconds() - readyAt);
    if (!counts.secondary) {
      await p.step('Count the outage canaries in the secondary', () => catchUp('secondary'), (c) => `${c.received}/${sent.length} received`);
    }
    details.canaries = { sent: sent.length, primary: counts.primary!, secondary: counts.secondary! };
    const lost = (['primary', 'secondary'] as const).filter((r) => counts[r]!.missing.length > 0);
    if (lost.length > 0) {
      throw ApplicationFailure.create({
        type: FailureType.LogsLost,
        nonRetryable: true,
        message: lost
          .map((r) => `${counts[r]!.missing.length} of ${sent.length} outage canaries never reached the ${r} (${component[r]}) within ${input.catchUpLimitSeconds} s: ${counts[r]!.missing.join(', ')}`)
          .join('; '),
      });
    }
    if (notFired.length > 0) {
      // Both backends are back and nothing was lost; what the drill could not prove is the alerting.
      throw ApplicationFailure.create({ type: FailureType.AlertNotFired, nonRetryable: true, message: `both-down: ${notFired.join('; ')}` });
    }
  });
  return report as LogFailoverReport;
}
