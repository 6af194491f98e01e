import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { ApplicationFailure } from '@temporalio/common';
import { WorkflowFailedError } from '@temporalio/client';
import { FailureType } from '../../lib/failure-types';
import type { ProcedureReport } from '../../lib/reports/types';
import { createWorker } from '../../workers/worker';
import { logFailoverWorkflow } from '../../workflows';
import type { LogFailoverDetails, LogFailoverInput, LogFailoverReport } from '../../workflows/log-failover';
import { timeSkippingSuite } from '../harness/time-skipping-suite';
import type { ComponentState } from '../../lib/platform';
import { stoppedByThisRun } from '../../lib/platform/stop-record';
import type { HostDetectorResult } from '../../lib/logs/host-detector';

type Role = 'primary' | 'secondary';
const COMPONENT: Record<Role, string> = { primary: 'logs-primary', secondary: 'logs-secondary' };
const roleOf = (component: string): Role => (component === COMPONENT.primary ? 'primary' : 'secondary');

/**
 * The pipeline's activities stubbed as a tiny in-memory shipper: a line goes to each backend
 * that is up and waits in that backend's queue otherwise; a restart drains the queue (unless
 * the test makes it lose lines). The real pipeline is tested in test/integration/log-*.test.ts.
 */
function stubPipeline(
  opts: {
    secondaryUnhealthy?: boolean;
    loseOnRestart?: number[];
    secondaryBlind?: boolean;
    failEmitAt?: number;
    /** What Prometheus shows firing with both backends down; default LogPipelineDown and both per-output alerts. */
    bothDownAlerts?: string[];
    /** logPipeline.prometheusUrl unset: the alert check answers undefined. */
    noPrometheus?: boolean;
    /** logPipeline.hostDetector set: what the detector run returns (default: not configured). */
    detector?: HostDetectorResult;
  } = {},
) {
  const up: Record<Role, boolean> = { primary: true, secondary: true };
  const stored: Record<Role, Set<number>> = { primary: new Set(), secondary: new Set() };
  const queued: Record<Role, number[]> = { primary: [], secondary: [] };
  const calls: string[] = [];
  const activities = {
    async logBackendReady({ role }: { role: Role }) {
      const ready = up[role] && !(role === 'secondary' && opts.secondaryUnhealthy);
      return { role, component: COMPONENT[role], ready, detail: `${COMPONENT[role]} ${ready ? 'ready' : 'not ready (503)'}` };
    },
    async emitCanary({ run, seq }: { run: string; seq: number }) {
      if (seq === opts.failEmitAt) throw ApplicationFailure.create({ type: FailureType.InvalidInput, nonRetryable: true, message: 'logPipeline.canary.file: cannot append (EACCES)' });
      for (const role of ['primary', 'secondary'] as const) {
        if (role === 'secondary' && opts.secondaryBlind && seq > 0) continue;
        if (up[role]) stored[role].add(seq);
        else queued[role].push(seq);
      }
      return { run, seq, sentAt: new Date().toISOString() };
    },
    async canariesIn({ role }: { role: Role }) {
      if (!up[role]) throw ApplicationFailure.create({ type: FailureType.LogBackendUnavailable, message: `${COMPONENT[role]} is down` });
      return [...stored[role]].sort((a, b) => a - b);
    },
    // Unless a test sets one, not configured (logPipeline.hostDetector unset): the drill records it as a finding.
    async hostDetectorFindings() {
      calls.push('host detector');
      return opts.detector;
    },
    async firingPipelineAlerts() {
      if (opts.noPrometheus) return undefined;
      return up.primary || up.secondary ? [] : (opts.bothDownAlerts ?? ['LogPipelineDown', 'VlagentRemoteWriteErrors{url=1:secret-url}', 'VlagentRemoteWriteErrors{url=2:secret-url}']);
    },
    async componentStatus({ component }: { component: string }) {
      calls.push(`status ${component}`);
      return { component, running: up[roleOf(component)], detail: `process ${component}: ${up[roleOf(component)] ? 'ready' : 'not running'}` };
    },
    async stopComponent({ component }: { component: string }) {
      calls.push(`stop ${component}`);
      up[roleOf(component)] = false;
      return { component, adapter: 'process', stoppedAt: new Date().toISOString() };
    },
    async startComponent({ component }: { component: string }) {
      calls.push(`start ${component}`);
      const role = roleOf(component);
      up[role] = true;
      for (const seq of queued[role].splice(0)) if (!opts.loseOnRestart?.includes(seq)) stored[role].add(seq);
      return { component, running: true, detail: `process ${component}: ready` };
    },
  };
  return { activities, up, calls };
}

describe('logFailoverWorkflow (time-skipping; pipeline and platform activities stubbed)', function () {
  this.timeout(120_000);
  const suite = timeSkippingSuite('wf-log-failover', (dir) => ({ reportsDir: join(dir, 'reports') }));

  const input = (over: Partial<LogFailoverInput> = {}): LogFailoverInput => ({
    variant: 'primary-down',
    primary: COMPONENT.primary,
    secondary: COMPONENT.secondary,
    outageWindowSeconds: 10,
    canaryIntervalSeconds: 1,
    sloSeconds: 30,
    catchUpLimitSeconds: 20,
    ...over,
  });

  async function worker(activities: object) {
    const taskQueue = `logs-${randomUUID()}`;
    return { taskQueue, worker: await createWorker({ config: suite.config, connection: suite.env.nativeConnection, namespace: 'default', taskQueue, activities }) };
  }

  async function run(activities: object, args: LogFailoverInput): Promise<LogFailoverReport> {
    const { taskQueue, worker: w } = await worker(activities);
    return w.runUntil(suite.env.client.workflow.execute(logFailoverWorkflow, { taskQueue, workflowId: `log-failover-${randomUUID()}`, args: [args] }));
  }

  /** The report a failed run carries (the frame puts it in the failure's details). */
  async function failedReport(
    activities: object,
    args: LogFailoverInput,
  ): Promise<{ message: string; type?: string; causeType?: string; report: ProcedureReport & { details: LogFailoverDetails } }> {
    try {
      await run(activities, args);
    } catch (err) {
      assert.ok(err instanceof WorkflowFailedError, String(err));
      const cause = err.cause as ApplicationFailure;
      // causeType: the typed failure that stopped the drill (the frame keeps it as ProcedureFailed's cause).
      const causeType = cause.cause instanceof ApplicationFailure ? (cause.cause.type ?? undefined) : undefined;
      return { message: cause.message, type: cause.type ?? undefined, causeType, report: cause.details?.[0] as ProcedureReport & { details: LogFailoverDetails } };
    }
    assert.fail('the drill succeeded');
  }

  it('primary-down: the secondary has the outage canaries within the SLO, the primary catches up, the report counts everything', async () => {
    const p = stubPipeline();
    const r = await run(p.activities, input());
    assert.equal(r.outcome, 'succeeded');
    assert.deepEqual(p.calls.filter((c) => !c.startsWith('status')), ['stop logs-primary', 'start logs-primary']);
    assert.equal(p.up.primary, true);
    const d = r.details;
    assert.ok(d.canaries!.sent >= 9 && d.canaries!.sent <= 11, `sent ${d.canaries!.sent} in a 10 s window at 1/s`);
    assert.deepEqual(d.canaries!.primary, { received: d.canaries!.sent, missing: [] });
    assert.deepEqual(d.canaries!.secondary, { received: d.canaries!.sent, missing: [] });
    assert.ok(d.failoverDelaySeconds !== undefined && d.failoverDelaySeconds <= 2, `failover ${d.failoverDelaySeconds} s`);
    assert.equal(r.slos[0].slo, 'first outage canary in the secondary');
    assert.equal(r.slos[0].met, true);
    assert.deepEqual(
      d.timeline.map((t) => t.event.replace(/ \(.*/, '')),
      ['steady state: canary 0 in both backends', 'primary stopped', 'first outage canary in the secondary', 'primary restarted', 'primary ready', 'primary caught up'],
    );
    assert.deepEqual(
      r.steps.map((s) => s.name),
      [
        'Check the secondary log backend is healthy',
        'Check the primary log backend is healthy',
        'Check the drill can stop and start the primary log backend',
        'Check the drill can stop and start the secondary log backend',
        'Send a steady-state canary and see it in both backends',
        'Stop the primary log backend',
        'Send numbered canaries for 10 s',
        'Restart the primary log backend',
        'Confirm the primary log backend is ready',
        'Wait for every outage canary in the primary',
        'Count the outage canaries in the secondary',
      ],
    );
    assert.deepEqual(r.compensations.map((c) => [c.name, c.outcome]), [['Restart the primary log backend', 'not needed']]);
    assert.ok(r.reportFiles?.json.endsWith('.json'));
  });

  it('restarts the primary even when the stop, retried after a worker died mid-stop, reports it "already stopped"', async () => {
    const p = stubPipeline();
    const records: unknown[] = [];
    const activities = {
      ...p.activities,
      async stopComponent({ component, before }: { component: string; before?: ComponentState }) {
        await p.activities.stopComponent({ component });
        // What the process adapter answers to the retry (it finds nothing running), through the
        // activity's own rule with the steady state the workflow passes.
        return stoppedByThisRun({ component, adapter: 'process', stoppedAt: new Date().toISOString(), wasStopped: true }, before);
      },
      async startComponent(input: { component: string; record?: { wasStopped?: boolean } }) {
        records.push(input.record);
        return p.activities.startComponent(input);
      },
    };
    const r = await run(activities, input());
    assert.equal(r.outcome, 'succeeded');
    assert.equal(records.length, 1);
    assert.equal((records[0] as { wasStopped?: boolean }).wasStopped, undefined, 'the restart is told to start it');
  });

  it('refuses to start when the secondary is unhealthy, and stops nothing', async () => {
    const p = stubPipeline({ secondaryUnhealthy: true });
    const f = await failedReport(p.activities, input());
    assert.match(f.message, /refusing to start: the secondary log backend \(logs-secondary\) is not healthy.*fix the secondary first/);
    assert.equal(p.calls.some((c) => c.startsWith('stop')), false);
    assert.deepEqual(f.report.compensations, []);
  });

  it('puts the primary back when the drill fails during the outage', async () => {
    const p = stubPipeline({ failEmitAt: 3 });
    const f = await failedReport(p.activities, input());
    assert.match(f.message, /EACCES/);
    assert.equal(p.up.primary, true);
    assert.deepEqual(p.calls.filter((c) => !c.startsWith('status')), ['stop logs-primary', 'start logs-primary']);
    assert.deepEqual(f.report.compensations.map((c) => [c.name, c.outcome]), [['Restart the primary log backend', 'done']]);
  });

  // Cancellation is proven on the real dev server (test/e2e/log-failover.test.ts).

  it('fails with LogsLost naming the canaries the primary never received', async () => {
    const p = stubPipeline({ loseOnRestart: [2, 5] });
    const f = await failedReport(p.activities, input());
    assert.match(f.message, /2 of \d+ outage canaries never reached the primary \(logs-primary\) within 20 s: 2, 5/);
    assert.deepEqual(f.report.details.canaries!.primary.missing, [2, 5]);
    assert.deepEqual(f.report.details.canaries!.secondary.missing, []);
    assert.equal(p.up.primary, true);
  });

  it('records an SLO breach when the secondary never shows an outage canary', async () => {
    const p = stubPipeline({ secondaryBlind: true });
    const f = await failedReport(p.activities, input({ outageWindowSeconds: 10, sloSeconds: 5 }));
    const slo = f.report.slos.find((s) => s.slo === 'first outage canary in the secondary')!;
    assert.equal(slo.met, false);
    assert.ok(slo.breachedAtSeconds !== undefined);
    assert.equal(f.report.details.failoverDelaySeconds, undefined);
    assert.ok(f.report.findings.some((x) => /SLO "first outage canary in the secondary" breached/.test(x)));
  });

  it('both-down: stops both, sees the pipeline alerts, restarts both (secondary last stopped, first restarted) and loses nothing', async () => {
    const p = stubPipeline();
    const r = await run(p.activities, input({ variant: 'both-down', outageWindowSeconds: 110 }));
    assert.equal(r.outcome, 'succeeded', r.error);
    assert.deepEqual(p.calls.filter((c) => !c.startsWith('status')), ['stop logs-primary', 'stop logs-secondary', 'host detector', 'start logs-secondary', 'start logs-primary']);
    assert.deepEqual(r.findings, ['both-down: the host-level detector was not run; set logPipeline.hostDetector so the drill proves it pages the emergency webhook']);
    assert.deepEqual(r.details.alertsFiring, ['LogPipelineDown', 'VlagentRemoteWriteErrors{url=1:secret-url}', 'VlagentRemoteWriteErrors{url=2:secret-url}']);
    assert.deepEqual(r.details.canaries!.primary.missing, []);
    assert.deepEqual(r.details.canaries!.secondary.missing, []);
    assert.equal(r.slos.length, 0);
  });

  it('both-down fails with AlertNotFired naming LogPipelineDown when only the per-output alerts fire, after restarting both backends and counting every canary', async () => {
    const p = stubPipeline({ bothDownAlerts: ['VlagentRemoteWriteErrors{url=1:secret-url}', 'VlagentRemoteWriteErrors{url=2:secret-url}'] });
    const f = await failedReport(p.activities, input({ variant: 'both-down', outageWindowSeconds: 110 }));
    assert.equal(f.report.outcome, 'failed');
    assert.match(
      f.message,
      /both-down: LogPipelineDown was not firing in Prometheus after both backends were down for 110 s \(firing: VlagentRemoteWriteErrors\{url=1:secret-url\}, VlagentRemoteWriteErrors\{url=2:secret-url\}\); check that logPipeline\.prometheusUrl scrapes the shipper/,
    );
    assert.equal(f.causeType, FailureType.AlertNotFired);
    // The backends are back through the drill's own recovery steps, and nothing was lost.
    assert.deepEqual(p.up, { primary: true, secondary: true });
    assert.deepEqual(f.report.compensations.map((c) => [c.name, c.outcome]), [['Restart the secondary log backend', 'not needed'], ['Restart the primary log backend', 'not needed']]);
    assert.deepEqual(f.report.details.canaries!.primary.missing, []);
    assert.deepEqual(f.report.details.canaries!.secondary.missing, []);
    assert.ok(f.report.findings.some((x) => x.startsWith('both-down: LogPipelineDown was not firing')), f.report.findings.join('\n'));
  });

  it('both-down fails with AlertNotFired when the configured host-level detector saw logging down but could not page, and both backends are restarted', async () => {
    const p = stubPipeline({ detector: { exitCode: 1, findings: ['NEW WARNING logging: central log endpoint is not ready'], sentToEmergencyWebhook: false, detail: 'emergency webhook answered 500' } });
    const f = await failedReport(p.activities, input({ variant: 'both-down', outageWindowSeconds: 110 }));
    assert.match(f.message, /both-down: the host-level detector saw central logging down but could not page the emergency webhook: emergency webhook answered 500; check logPipeline\.hostDetector\.emergencyWebhook/);
    assert.equal(f.causeType, FailureType.AlertNotFired);
    assert.doesNotMatch(f.message, /LogPipelineDown/, 'the alert fired; only the detector is named');
    assert.deepEqual(p.up, { primary: true, secondary: true });
    assert.deepEqual(p.calls.filter((c) => !c.startsWith('status')), ['stop logs-primary', 'stop logs-secondary', 'host detector', 'start logs-secondary', 'start logs-primary']);
  });

  it('both-down without logPipeline.prometheusUrl succeeds with a finding saying the alerts were not checked', async () => {
    const p = stubPipeline({ noPrometheus: true, detector: { exitCode: 1, findings: ['NEW WARNING logging'], sentToEmergencyWebhook: true, detail: '1 finding(s), 1 new' } });
    const r = await run(p.activities, input({ variant: 'both-down', outageWindowSeconds: 110 }));
    assert.equal(r.outcome, 'succeeded', r.error);
    assert.equal(r.details.alertsFiring, undefined);
    assert.deepEqual(r.findings, ['both-down: the pipeline alerts were not checked; set logPipeline.prometheusUrl so the drill proves they fire']);
    assert.ok(r.details.timeline.some((t) => t.event === 'host-level detector paged the emergency webhook'));
  });

  it('dry-run: checks steady state and the platform adapters, stops nothing', async () => {
    const p = stubPipeline();
    const r = await run(p.activities, input({ variant: 'dry-run' }));
    assert.equal(r.outcome, 'succeeded');
    assert.deepEqual(p.calls, ['status logs-primary', 'status logs-secondary']);
    assert.equal(r.details.canaries, undefined);
  });
});
