import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { WorkflowFailedError, type Client } from '@temporalio/client';
import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import type { SecdrConfig } from '../../lib/config/schema';
import { startAlertmanager, type HttpServer } from '../../dev-stack/prometheus';
import { startTemporalDevServer, type TemporalDevServer } from '../../dev-stack/temporal';
import { waitFor } from '../../dev-stack/wait';
import { drillLastSuccess } from '../../lib/metrics';
import { listEvidence, loadEvidence } from '../../lib/reports/evidence';
import type { ProcedureReport } from '../../lib/reports/types';
import { statusQuery } from '../../workflows/frame';
import { alertingDrillWorkflow, type AlertingDrillReport } from '../../workflows/alerting-drill';
import { testConfig } from '../harness/config';
import { startRecordingReceivers, writeDeployedAlertmanagerConfig, type RecordingReceivers } from '../../dev-stack/recording-receivers';
import { startInProcessWorker, type InProcessWorker } from '../harness/in-process-worker';
import { tempDir } from '../harness/temp';

/**
 * The alerting drill as a workflow on a real Temporal dev server, served by the secdr worker,
 * against a real Alertmanager running deploy/alertmanager/alertmanager.yml (receivers pointed at the
 * recording webhook and PagerDuty-shaped receivers; only the critical route's group_interval is
 * shortened, which only speeds up the resolved notification).
 */
describe('alerting drill end to end (Temporal dev server, worker, Alertmanager, recording receivers)', function () {
  this.timeout(180_000);
  const tmp = tempDir('e2e-alerting-drill');
  let temporal: TemporalDevServer | undefined;
  let am: HttpServer | undefined;
  let rx: RecordingReceivers | undefined;
  let worker: InProcessWorker | undefined;
  let client: Client;
  let config: SecdrConfig;
  const taskQueue = `alerting-drill-${randomUUID()}`;

  before(async () => {
    rx = await startRecordingReceivers();
    const amDir = join(tmp.dir, 'alertmanager');
    mkdirSync(amDir, { recursive: true });
    am = await startAlertmanager(amDir, writeDeployedAlertmanagerConfig(amDir, rx));
    config = testConfig(tmp.dir, {
      alertmanager: { url: am.url },
      alertingDrill: { deliveryProbe: { url: rx.probeUrl }, expectReceiver: 'critical' },
      reportsDir: join(tmp.dir, 'reports'),
    });
    temporal = await startTemporalDevServer({ dir: join(tmp.dir, 'temporal') });
    worker = await startInProcessWorker(temporal, config, taskQueue);
    client = worker.client;
  });

  after(async () => {
    await worker?.close();
    await temporal?.process.stop();
    await am?.process.stop();
    await rx?.close();
    tmp.cleanup();
  });

  const run = (id: string, sloSeconds: number) =>
    client.workflow.execute(alertingDrillWorkflow, { taskQueue, workflowId: id, args: [{ labels: { team: 'security' }, sloSeconds, resolvedSloSeconds: 60 }] });

  const activeDrillAlerts = async (id: string) =>
    ((await (await fetch(`${am!.url}/api/v2/alerts?filter=${encodeURIComponent(`drill_id="${id}"`)}&active=true`)).json()) as { status: { state: string } }[]).filter(
      (a) => a.status.state === 'active',
    );

  it('proves delivery to the on-call receiver within the SLO, then the resolution, and sets the drill freshness gauge', async () => {
    const id = `alerting-drill-${randomUUID()}`;
    const report: AlertingDrillReport = await run(id, 120);
    assert.equal(report.outcome, 'succeeded');
    assert.equal(report.receiver, 'critical');
    assert.match(report.route!, /^route\.routes\[1\] \{severity="critical"\}$/);
    assert.deepEqual(
      report.steps.map((s) => [s.name, s.outcome]),
      [
        ['Resolve the route of the drill alert', 'ok'],
        ['Post the drill alert to Alertmanager', 'ok'],
        ['Check the drill alert is neither silenced nor inhibited', 'ok'],
        ['Notification reaches the on-call receiver', 'ok'],
        ['End the drill alert', 'ok'],
        ['Resolved notification reaches the receiver', 'ok'],
      ],
    );
    const delivered = report.slos.find((s) => s.slo === 'notification delivered')!;
    assert.ok(delivered.met && delivered.measuredSeconds! >= 9.5, `measured ${delivered.measuredSeconds} s: group_wait (10 s) is part of it`);
    assert.ok(report.slos.find((s) => s.slo === 'resolved notification delivered')!.met);
    assert.deepEqual(report.compensations.map((c) => [c.name, c.outcome]), [['End the drill alert', 'not needed']]);

    const mine = rx!.deliveries.filter((d) => d.drillIds.includes(id)).map((d) => `${d.receiver}:${d.status}`);
    assert.deepEqual(new Set(mine), new Set(['webhook/critical:firing', 'webhook/critical:resolved', 'pagerduty/critical:firing', 'pagerduty/critical:resolved']));
    assert.equal((await activeDrillAlerts(id)).length, 0, 'the drill alert is ended');

    const onDisk = JSON.parse(readFileSync(report.reportFiles!.json, 'utf8')) as ProcedureReport;
    assert.equal(onDisk.workflowId, id);
    assert.ok(existsSync(report.reportFiles!.markdown));
    // A standalone drill run gets the HTML page too, and its evidence stored and catalogued beside the snapshots.
    assert.match(readFileSync(report.reportFiles!.html!, 'utf8'), /id="timeline"[\s\S]*Notification reaches the on-call receiver/);
    const entry = (await listEvidence(config.storage)).find((e) => e.workflowId === id);
    assert.ok(entry, 'the run is in the evidence catalog (`secdr drill list`)');
    assert.equal(entry.procedure, 'alerting');
    assert.equal(entry.outcome, 'succeeded');
    for (const f of Object.values(entry.files)) assert.match(f.sha256, /^[0-9a-f]{64}$/);
    const stored = await loadEvidence(config.storage, id);
    assert.deepEqual(stored!.report.steps.map((s) => s.name), report.steps.map((s) => s.name));
    const gauge = (await drillLastSuccess.get()).values.find((v) => v.labels.drill === 'alerting');
    assert.ok(gauge && Math.abs(gauge.value - Date.parse(report.finishedAt!) / 1000) < 1, `drill freshness gauge: ${JSON.stringify(gauge)}`);
  });

  it('ends the drill alert (compensation) when no notification arrives in time, and reports the breach', async () => {
    const id = `alerting-drill-${randomUUID()}`;
    // 3 s SLO against a 10 s group_wait: the wait gives up at 9 s, before Alertmanager sends anything.
    const err = await run(id, 3).then(
      () => assert.fail('the drill must fail'),
      (e: unknown) => e,
    );
    assert.ok(err instanceof WorkflowFailedError);
    const failure = err.cause as ApplicationFailure;
    assert.equal(failure.type, 'ProcedureFailed');
    const report = failure.details![0] as ProcedureReport;
    assert.equal(report.outcome, 'failed');
    assert.match(report.error!, /no firing notification for drill .* reached the expected receiver "critical" on route\.routes\[1\] \{severity="critical"\} within 9 s/);
    const slo = report.slos.find((s) => s.slo === 'notification delivered')!;
    assert.equal(slo.met, false);
    assert.ok(Math.abs(slo.breachedAtSeconds! - 3) < 3, `breach recorded at ${slo.breachedAtSeconds} s`);
    assert.deepEqual(report.compensations.map((c) => [c.name, c.outcome]), [['End the drill alert', 'done']]);
    assert.equal((await activeDrillAlerts(id)).length, 0, 'no test page left open');
    assert.ok(report.findings.some((f) => /SLO "notification delivered" breached/.test(f)));
  });

  it('ends the drill alert when the drill is cancelled while waiting for the notification', async () => {
    const id = `alerting-drill-${randomUUID()}`;
    const handle = await client.workflow.start(alertingDrillWorkflow, { taskQueue, workflowId: id, args: [{ labels: {}, sloSeconds: 120, resolvedSloSeconds: 60 }] });
    await waitFor('the drill to wait for the notification', async () => (await handle.query(statusQuery)).step === 'Notification reaches the on-call receiver', { timeoutMs: 30_000, intervalMs: 200 });
    assert.equal((await activeDrillAlerts(id)).length, 1, 'the test page is open while the drill waits');
    await handle.cancel();
    await assert.rejects(handle.result(), (err: unknown) => err instanceof WorkflowFailedError && err.cause instanceof CancelledFailure);
    assert.equal((await activeDrillAlerts(id)).length, 0, 'the undo ended the test page');
    const onDisk = readdirSync(config.reportsDir).map((f) => join(config.reportsDir, f)).filter((f) => f.endsWith('.json')).map((f) => JSON.parse(readFileSync(f, 'utf8')) as ProcedureReport).find((r) => r.workflowId === id)!;
    assert.equal(onDisk.outcome, 'cancelled');
    assert.deepEqual(onDisk.compensations.map((c) => [c.name, c.outcome]), [['End the drill alert', 'done']]);
    assert.equal((await listEvidence(config.storage)).find((e) => e.workflowId === id)?.outcome, 'cancelled', 'a cancelled drill is evidence too');
  });

  it('fails before posting anything when a silence would swallow the page, naming the silence and route', async () => {
    const now = new Date();
    const res = await fetch(`${am!.url}/api/v2/silences`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        matchers: [{ name: 'team', value: 'security', isRegex: false, isEqual: true }],
        startsAt: now.toISOString(),
        endsAt: new Date(now.getTime() + 600_000).toISOString(),
        createdBy: 'oncall',
        comment: 'noisy week',
      }),
    });
    const { silenceID } = (await res.json()) as { silenceID: string };
    const id = `alerting-drill-${randomUUID()}`;
    try {
      const err = await run(id, 120).then(
        () => assert.fail('the drill must fail'),
        (e: unknown) => e,
      );
      const report = ((err as WorkflowFailedError).cause as ApplicationFailure).details![0] as ProcedureReport;
      assert.match(report.error!, new RegExp(`silenced on route\\.routes\\[1\\] \\{severity="critical"\\} → receiver "critical" by silence ${silenceID} by oncall`));
      assert.equal(report.steps.length, 1);
      assert.equal(rx!.deliveries.filter((d) => d.drillIds.includes(id)).length, 0);
    } finally {
      await fetch(`${am!.url}/api/v2/silence/${silenceID}`, { method: 'DELETE' });
    }
  });
});
