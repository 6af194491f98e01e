import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { ApplicationFailure } from '@temporalio/common';
import { WorkflowFailedError } from '@temporalio/client';
import { Worker } from '@temporalio/worker';
import type { ProcedureReport } from '../../lib/reports/types';
import { dataConverterFor } from '../../lib/temporal/connect';
import { Context } from '@temporalio/activity';
import type { AlertInput } from '../../activities/alertmanager';
import type { ProcedureStatus } from '../../workflows/frame';
import type { ProbeInput } from '../fixtures/workflows/frame-probe';
import { timeSkippingSuite } from '../harness/time-skipping-suite';

describe('procedure frame (time-skipping, test procedure with stubbed activities)', function () {
  const suite = timeSkippingSuite('wf-frame');

  function stubs(opts: { undoFails?: string[] } = {}) {
    const calls = { changed: [] as string[], undone: [] as string[], reports: [] as ProcedureReport[], outcomes: [] as { outcome: string }[], alerts: [] as AlertInput[] };
    const activities = {
      async change({ what }: { what: string }) {
        calls.changed.push(what);
      },
      async undo({ what }: { what: string }) {
        if (opts.undoFails?.includes(what)) throw ApplicationFailure.create({ type: 'PlatformActionFailed', nonRetryable: true, message: `${what} did not come back` });
        calls.undone.push(what);
      },
      async writeProcedureReport(r: ProcedureReport) {
        calls.reports.push(r);
        return { json: '/r.json', markdown: '/r.md' };
      },
      async recordProcedureOutcome(o: { outcome: string }) {
        calls.outcomes.push(o);
      },
      async postAlert(a: AlertInput) {
        calls.alerts.push(a);
        return true;
      },
    };
    return { activities, calls };
  }

  type Handle = { cancel(): Promise<unknown>; query<T>(name: string): Promise<T> };
  async function start(activities: object, input: ProbeInput, during?: (h: Handle) => Promise<void>, afterResult?: (h: Handle) => Promise<void>) {
    const taskQueue = `frame-${randomUUID()}`;
    const worker = await Worker.create({
      connection: suite.env.nativeConnection,
      taskQueue,
      workflowsPath: require.resolve('../fixtures/workflows/frame-probe'),
      activities,
      dataConverter: dataConverterFor(suite.config),
    });
    return worker.runUntil(async () => {
      const h = await suite.env.client.workflow.start('frameProbeWorkflow', { taskQueue, workflowId: randomUUID(), args: [input] });
      await during?.(h);
      const report = (await h.result()) as ProcedureReport;
      await afterResult?.(h);
      return report;
    });
  }

  it('runs the undos newest first when a later step fails, and reports each one', async () => {
    const { activities, calls } = stubs();
    await assert.rejects(start(activities, { changes: ['a', 'b', 'c'], then: 'fail' }), (err: WorkflowFailedError) => {
      assert.match(err.cause?.message ?? '', /frame-probe failed: probe: the check after the changes failed/);
      return true;
    });
    assert.deepEqual(calls.undone, ['c', 'b', 'a']);
    const r = calls.reports[0];
    assert.equal(r.outcome, 'failed');
    assert.deepEqual(r.compensations.map((c) => [c.name, c.outcome]), [['put back c', 'done'], ['put back b', 'done'], ['put back a', 'done']]);
    assert.deepEqual(calls.outcomes.map((o) => o.outcome), ['failed']);
    assert.deepEqual(r.findings.filter((f) => f.startsWith('undo ')), ["undo 'put back c' had to run", "undo 'put back b' had to run", "undo 'put back a' had to run"]);
  });

  it('runs the undos when the procedure is cancelled, and ends cancelled', async () => {
    const { activities, calls } = stubs();
    await assert.rejects(
      start(activities, { changes: ['a', 'b'], then: 'wait' }, async (h) => {
        while (calls.changed.length < 2) await new Promise((r) => setTimeout(r, 100));
        await h.cancel();
      }),
      (err: WorkflowFailedError) => {
        assert.equal(err.cause?.name, 'CancelledFailure');
        return true;
      },
    );
    assert.deepEqual(calls.undone, ['b', 'a']);
    assert.equal(calls.reports[0].outcome, 'cancelled');
    assert.deepEqual(calls.reports[0].findings.filter((f) => f.startsWith('undo ')), ["undo 'put back b' had to run", "undo 'put back a' had to run"]);
  });

  it('fails a procedure whose undo fails, naming what was left changed, and still runs the other undos', async () => {
    const { activities, calls } = stubs({ undoFails: ['b'] });
    await assert.rejects(start(activities, { changes: ['a', 'b'], then: 'succeed' }), (err: WorkflowFailedError) => {
      assert.match(err.cause?.message ?? '', /undo failed, left changed: "put back b" \(b did not come back\)/);
      return true;
    });
    assert.deepEqual(calls.undone, ['a'], 'the older undo still ran');
    const r = calls.reports[0];
    assert.equal(r.outcome, 'failed');
    assert.ok(r.findings.some((f) => f.startsWith('left changed: "put back b"')), r.findings.join('\n'));
    assert.ok(!r.findings.some((f) => f.startsWith('undo ')), 'the body succeeded: the undos that ran were the plan');
  });

  it('does not repeat an undo the procedure settled itself, and runs the rest on success', async () => {
    const { activities, calls } = stubs();
    const r = await start(activities, { changes: ['a', 'b'], then: 'succeed', settle: 'b' });
    assert.equal(r.outcome, 'succeeded');
    assert.deepEqual(calls.undone, ['b', 'a'], 'b once by the procedure, a by the frame');
    assert.deepEqual(r.compensations.map((c) => [c.name, c.outcome]), [['put back b', 'not needed'], ['put back a', 'done']]);
    assert.deepEqual(r.findings, [], 'an undo run on success is the plan, not a runbook gap');
  });

  it('leaves changes in place on success when the procedure asks not to compensate', async () => {
    const { activities, calls } = stubs();
    const r = await start(activities, { changes: ['a'], then: 'succeed', compensateOnSuccess: false });
    assert.deepEqual(calls.undone, []);
    assert.deepEqual(r.compensations.map((c) => c.outcome), ['not needed']);
  });

  it('records an SLO breach when the timer fires, with the measured value once reached, and alerts once', async () => {
    const { activities, calls } = stubs();
    const r = await start(activities, { changes: [], then: 'succeed', slo: { limitSeconds: 30, metAfterSeconds: 45 } });
    const s = r.slos[0];
    assert.equal(s.met, false);
    assert.ok(s.breachedAtSeconds! >= 30 && s.breachedAtSeconds! < 32, `breached at ${s.breachedAtSeconds}`);
    assert.ok(s.measuredSeconds! >= 45, `measured ${s.measuredSeconds}`);
    assert.equal(calls.alerts.length, 1);
    assert.deepEqual(r.alerts, [{ slo: 'probe goal', delivered: true }]);
  });

  it('retries an undeliverable breach alert by its profile, then records it as not delivered in the report, the status and the findings', async () => {
    const { activities, calls } = stubs();
    const attempts: number[] = [];
    const unreachable = {
      ...activities,
      async postAlert(a: AlertInput): Promise<never> {
        calls.alerts.push(a);
        attempts.push(Context.current().info.attempt);
        throw ApplicationFailure.create({ type: 'AlertmanagerUnavailable', message: 'Alertmanager answered 503' });
      },
    };
    let status: ProcedureStatus | undefined;
    const r = await start(unreachable, { changes: [], then: 'succeed', slo: { limitSeconds: 30, metAfterSeconds: 45 } }, undefined, async (h) => {
      status = await h.query<ProcedureStatus>('status');
    });
    assert.deepEqual(attempts, [1, 2, 3, 4, 5], 'five attempts, as profiles.sideEffect says');
    assert.equal(r.outcome, 'succeeded', 'an undeliverable alert is evidence, not a failed procedure');
    assert.equal(r.alerts.length, 1);
    assert.equal(r.alerts[0].slo, 'probe goal');
    assert.equal(r.alerts[0].delivered, false);
    assert.match(r.alerts[0].error ?? '', /Alertmanager answered 503/);
    assert.deepEqual(status?.alerts.map((a) => [a.slo, a.delivered]), [['probe goal', false]]);
    assert.ok(r.findings.some((f) => /^the breach alert for "probe goal" was not delivered: .*Alertmanager answered 503/.test(f)), r.findings.join('\n'));
    assert.equal(calls.reports[0].alerts[0].delivered, false, 'the written report says so too');
  });

  it('fails a run whose report cannot be written instead of claiming success without evidence', async () => {
    const { activities, calls } = stubs();
    const broken = {
      ...activities,
      async writeProcedureReport(): Promise<never> {
        throw ApplicationFailure.create({ type: 'ReportNotWritten', nonRetryable: true, message: 'disk full' });
      },
    };
    await assert.rejects(start(broken, { changes: [], then: 'succeed' }), (err: WorkflowFailedError) => {
      assert.match(err.cause?.message ?? '', /write report failed: disk full/);
      return true;
    });
    assert.deepEqual(calls.outcomes.map((o) => o.outcome), ['succeeded'], 'the outcome was recorded before the report');
  });
});
