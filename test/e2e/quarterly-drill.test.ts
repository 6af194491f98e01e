import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { stringify } from 'yaml';
import { Client, Connection, WorkflowFailedError } from '@temporalio/client';
import { CancelledFailure } from '@temporalio/common';
import { loadConfig } from '../../lib/config/load';
import { dataConverterFor } from '../../lib/temporal/connect';
import { waitFor } from '../../dev-stack/wait';
import { statusQuery } from '../../workflows/frame';
import { startAlertmanager, type HttpServer } from '../../dev-stack/prometheus';
import { ManagedProcess } from '../../dev-stack/supervisor';
import { startTemporalDevServer, type TemporalDevServer } from '../../dev-stack/temporal';
import type { EvidenceEntry } from '../../lib/reports/evidence';
import { startRecordingReceivers, writeDeployedAlertmanagerConfig, type RecordingReceivers } from '../../dev-stack/recording-receivers';
import { tempDir } from '../harness/temp';

const repo = resolve(__dirname, '..', '..');

/**
 * The quarterly drill the way CI runs it: the real `secdr worker` process and the real `secdr drill …`
 * commands against a Temporal dev server, Alertmanager with deploy/alertmanager/alertmanager.yml and
 * the recording receivers. The drill list is `[alerting]` here; the other drills have their own
 * end-to-end suites on their own stacks. Once passing, once with an injected failure (a silence that
 * swallows critical pages) that must show in the exit code, the JUnit and the stored report, then
 * `drill rerun` after the silence is gone.
 */
describe('quarterly drill through the CLI (worker process, Temporal dev server, Alertmanager, recording receivers)', function () {
  this.timeout(300_000);
  const tmp = tempDir('e2e-quarterly');
  let temporal: TemporalDevServer | undefined;
  let am: HttpServer | undefined;
  let rx: RecordingReceivers | undefined;
  let worker: ManagedProcess | undefined;
  let configFile: string;
  let approvalConfigFile: string;
  let breachConfigFile: string;
  let client: Client | undefined;

  function secdr(args: string[], config = configFile): Promise<{ code: number; stdout: string; stderr: string; seconds: number }> {
    const started = Date.now();
    return new Promise((ok) => {
      execFile(
        join(repo, 'node_modules', '.bin', 'tsx'),
        [join(repo, 'scripts', 'secdr.ts'), '--config', config, ...args],
        { cwd: repo, env: { ...process.env, TEMPORAL_ADDRESS: temporal!.address, TEMPORAL_NAMESPACE: 'default' }, timeout: 240_000 },
        (err, stdout, stderr) => ok({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr, seconds: (Date.now() - started) / 1000 }),
      );
    });
  }

  before(async () => {
    rx = await startRecordingReceivers();
    const amDir = join(tmp.dir, 'alertmanager');
    mkdirSync(amDir, { recursive: true });
    am = await startAlertmanager(amDir, writeDeployedAlertmanagerConfig(amDir, rx));
    temporal = await startTemporalDevServer({ dir: join(tmp.dir, 'temporal') });
    writeFileSync(join(tmp.dir, 'codec.key'), Buffer.alloc(32, 7).toString('base64'), { mode: 0o600 });
    const base = {
      temporal: { taskQueue: 'secdr-e2e-quarterly' },
      clusters: [{ name: 'prod', nodes: ['http://127.0.0.1:1'], auth: { method: 'token', token: { env: 'UNUSED_TOKEN' } } }],
      storage: [{ name: 'local', type: 'local', dir: join(tmp.dir, 'store') }],
      alertmanager: { url: am.url },
      alertingDrill: { deliveryProbe: { url: rx.probeUrl }, expectReceiver: 'critical' },
      quarterlyDrill: { drills: ['alerting'] },
      reportsDir: join(tmp.dir, 'reports'),
      metrics: { port: 0 },
      codec: { keyId: 'e2e', key: { file: join(tmp.dir, 'codec.key') } },
    };
    configFile = join(tmp.dir, 'secdr.yaml');
    writeFileSync(configFile, stringify(base));
    approvalConfigFile = join(tmp.dir, 'secdr-approval.yaml');
    writeFileSync(approvalConfigFile, stringify({ ...base, quarterlyDrill: { drills: ['alerting'], approval: { required: true, timeoutSeconds: 600 } } }));
    // A delivery SLO below the route's group_wait (10 s): the page arrives, late.
    breachConfigFile = join(tmp.dir, 'secdr-breach.yaml');
    writeFileSync(breachConfigFile, stringify({ ...base, alertingDrill: { ...base.alertingDrill, sloSeconds: 5 } }));
    worker = new ManagedProcess({
      name: 'secdr worker',
      command: join(repo, 'node_modules', '.bin', 'tsx'),
      args: [join(repo, 'scripts', 'secdr.ts'), '--config', configFile, 'worker'],
      env: { ...process.env, TEMPORAL_ADDRESS: temporal.address, TEMPORAL_NAMESPACE: 'default' },
      cwd: repo,
      logFile: join(tmp.dir, 'worker.log'),
    }).start();
  });

  after(async () => {
    await client?.connection.close().catch(() => undefined);
    await worker?.stop();
    await temporal?.process.stop();
    await am?.process.stop();
    await rx?.close();
    tmp.cleanup();
  });

  const idOf = (stderr: string) => /started (\S+)/.exec(stderr)?.[1] ?? assert.fail(`no workflow id in: ${stderr}`);
  let failedId = '';

  it('passes: exit 0, JUnit with every step green, evidence catalogued with its SHA-256 and listed', async () => {
    const junit = join(tmp.dir, 'pass.xml');
    const r = await secdr(['drill', 'quarterly', '--wait', '--junit', junit]);
    assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
    console.log(`      quarterly drill (alerting) wall time through the CLI: ${r.seconds.toFixed(1)} s`);
    const xml = readFileSync(junit, 'utf8');
    assert.match(xml, /<testsuite name="alerting"[^>]* failures="0"/);
    assert.match(xml, /name="Notification reaches the on-call receiver"/);
    const list = await secdr(['drill', 'list', '--json']);
    const entries = JSON.parse(list.stdout) as EvidenceEntry[];
    const mine = entries.find((e) => e.workflowId === idOf(r.stderr))!;
    assert.equal(mine.outcome, 'succeeded');
    assert.match(mine.files.html.sha256, /^[0-9a-f]{64}$/);
    const took = (Date.parse(mine.finishedAt!) - Date.parse(mine.startedAt)) / 1000;
    console.log(`      the drill itself (workflow start to evidence stored): ${took.toFixed(1)} s`);
    if (process.env.SECDR_KEEP_REPORT) writeFileSync(process.env.SECDR_KEEP_REPORT, (await secdr(['drill', 'report', mine.workflowId, '--format', 'json'])).stdout);
    const html = await secdr(['drill', 'report', mine.workflowId, '--format', 'html']);
    assert.equal(html.code, 0);
    assert.match(html.stdout, /id="timeline"/);
    assert.match(html.stdout, /alerting: Resolved notification reaches the receiver/);
  });

  it('fails with an injected failure (a silence swallowing critical pages): exit 1, JUnit failure and report finding name it', async () => {
    const now = new Date();
    const res = await fetch(`${am!.url}/api/v2/silences`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        matchers: [{ name: 'severity', value: 'critical', isRegex: false, isEqual: true }],
        startsAt: now.toISOString(),
        endsAt: new Date(now.getTime() + 3600_000).toISOString(),
        createdBy: 'e2e',
        comment: 'injected failure',
      }),
    });
    const { silenceID } = (await res.json()) as { silenceID: string };
    try {
      const junit = join(tmp.dir, 'fail.xml');
      const r = await secdr(['drill', 'quarterly', '--wait', '--junit', junit]);
      assert.equal(r.code, 1, `${r.stdout}\n${r.stderr}`);
      failedId = idOf(r.stderr);
      assert.match(readFileSync(junit, 'utf8'), new RegExp(`<failure message="[^"]*silenced on route\\.routes\\[1\\][^"]*silence ${silenceID} by e2e`));
      const md = await secdr(['drill', 'report', failedId]);
      assert.match(md.stdout, /Outcome: \*\*FAILED\*\*/);
      assert.match(md.stdout, new RegExp(`- alerting: step "Resolve the route of the drill alert" failed: .*silence ${silenceID}`));
      assert.match(md.stdout, /## Compared with the previous run/);
    } finally {
      await fetch(`${am!.url}/api/v2/silence/${silenceID}`, { method: 'DELETE' });
    }
  });

  it('`drill rerun` runs the failed drill again and passes once the silence is gone', async () => {
    const r = await secdr(['drill', 'rerun', failedId, '--wait', '--json']);
    assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
    const report = JSON.parse(r.stdout) as { outcome: string; details: { rerunOf: string; drills: { drill: string; outcome: string }[] }; comparison?: { slos: { change: string }[] } };
    assert.equal(report.outcome, 'succeeded');
    assert.equal(report.details.rerunOf, failedId);
    assert.deepEqual(report.details.drills.map((d) => [d.drill, d.outcome]), [['alerting', 'succeeded']]);
  });

  it('waits for approval given through `drill approve`, which records who approved', async () => {
    const started = await secdr(['drill', 'quarterly'], approvalConfigFile);
    assert.equal(started.code, 0, started.stderr);
    const id = idOf(started.stderr);
    const status = await secdr(['status', id, '--json']);
    assert.match(status.stdout, /waiting for approval|Wait for approval/);
    const refused = await secdr(['drill', 'approve', id, '--by', ' '], approvalConfigFile);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /say who approves/);
    const ok = await secdr(['drill', 'approve', id, '--by', 'alice'], approvalConfigFile);
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(ok.stdout, /^approved by alice at \d{4}-/);
  });

  it('`drill alerting --wait --junit` passes: exit 0, a JUnit case per step, evidence with the HTML page in `drill list`', async () => {
    const junit = join(tmp.dir, 'alerting.xml');
    const r = await secdr(['drill', 'alerting', '--wait', '--junit', junit]);
    assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
    const id = idOf(r.stderr);
    const xml = readFileSync(junit, 'utf8');
    const cases = [...xml.matchAll(/<testcase classname="secdr\.alerting" name="([^"]+)"/g)].map((m) => m[1]);
    assert.deepEqual(cases, [
      'Resolve the route of the drill alert',
      'Post the drill alert to Alertmanager',
      'Check the drill alert is neither silenced nor inhibited',
      'Notification reaches the on-call receiver',
      'End the drill alert',
      'Resolved notification reaches the receiver',
      'SLO: notification delivered',
      'SLO: resolved notification delivered',
    ]);
    assert.match(xml, /<testsuite name="alerting"[^>]* failures="0"/);
    const entries = JSON.parse((await secdr(['drill', 'list', '--json'])).stdout) as EvidenceEntry[];
    const mine = entries.find((e) => e.workflowId === id);
    assert.ok(mine, `the standalone run ${id} is listed`);
    assert.equal(mine.procedure, 'alerting');
    assert.match(mine.files.html.sha256, /^[0-9a-f]{64}$/);
    // A quarterly drill's alerting child is stored once, merged into its parent's evidence (retention
    // keeps the newest 3 of each procedure, so look at the quarterly runs still catalogued).
    const parents = entries.filter((e) => e.procedure === 'quarterly').map((e) => e.workflowId);
    assert.ok(parents.length > 0, 'quarterly runs are catalogued');
    assert.deepEqual(entries.filter((e) => parents.some((p) => e.workflowId === `${p}-alerting`)).map((e) => e.workflowId), [], 'no separate evidence for a quarterly child');
    const html = await secdr(['drill', 'report', id, '--format', 'html']);
    assert.equal(html.code, 0, html.stderr);
    assert.match(html.stdout, /id="timeline"/);
  });

  it('`drill alerting --wait` exits 1 when the drill succeeds but breaches its delivery SLO (5 s against a 10 s group_wait)', async () => {
    const junit = join(tmp.dir, 'breach.xml');
    const r = await secdr(['drill', 'alerting', '--wait', '--junit', junit], breachConfigFile);
    assert.equal(r.code, 1, `${r.stdout}\n${r.stderr}`);
    // The page arrived (every step passed); only the SLO is breached.
    assert.doesNotMatch(r.stderr, /alerting failed/);
    assert.match(r.stdout, /^alerting succeeded|alerting drill|succeeded/m);
    assert.match(r.stdout, /notification delivered: (\d+\.\d) s \(limit 5 s\) BREACHED/);
    const measured = Number(/notification delivered: (\d+\.\d) s/.exec(r.stdout)![1]);
    assert.ok(measured >= 9.5, `measured ${measured} s: group_wait (10 s) is part of it`);
    const xml = readFileSync(junit, 'utf8');
    assert.match(xml, /name="Notification reaches the on-call receiver" time="[\d.]+"\/>/);
    assert.match(xml, /name="SLO: notification delivered"[^>]*>\s*<failure message="breached: measured [\d.]+ s, limit 5 s"/);
  });

  it('`schedules apply` creates the quarterly Schedule from the config, a second apply updates it, and triggering it starts the quarterly drill', async () => {
    const cfg = loadConfig(approvalConfigFile);
    client = new Client({ connection: await Connection.connect({ address: temporal!.address }), dataConverter: dataConverterFor(cfg) });
    const first = await secdr(['schedules', 'apply'], approvalConfigFile);
    assert.equal(first.code, 0, first.stderr);
    assert.match(first.stdout, /^created secdr-drill-quarterly$/m);
    const second = await secdr(['schedules', 'apply'], approvalConfigFile);
    assert.equal(second.code, 0, second.stderr);
    assert.match(second.stdout, /^updated secdr-drill-quarterly$/m);
    assert.doesNotMatch(second.stdout, /^created/m, 'the second apply creates nothing');

    const schedule = client.schedule.getHandle('secdr-drill-quarterly');
    const described = await schedule.describe();
    // quarterlyDrill.schedule's default, 0 3 1 1,4,7,10 *: 03:00 UTC on the first day of each quarter.
    const cal = described.spec.calendars?.[0] as Record<string, { start: unknown; end?: unknown }[]> | undefined;
    assert.ok(cal, `calendar spec: ${JSON.stringify(described.spec)}`);
    assert.deepEqual(cal.hour.map((r) => r.start), [3]);
    assert.deepEqual(cal.minute.map((r) => r.start), [0]);
    assert.deepEqual(cal.dayOfMonth.map((r) => r.start), [1]);
    assert.deepEqual(cal.month.map((r) => r.start), ['JANUARY', 'APRIL', 'JULY', 'OCTOBER']);
    assert.equal(described.action.type, 'startWorkflow');
    assert.equal(described.action.workflowType, 'quarterlyDrillWorkflow');

    await schedule.trigger();
    const action = await waitFor('the scheduled quarterly drill to start', async () => (await schedule.describe()).info.recentActions[0], { timeoutMs: 60_000, intervalMs: 500 });
    const handle = client.workflow.getHandle(action.action.workflow.workflowId, action.action.workflow.firstExecutionRunId);
    assert.equal((await handle.describe()).type, 'quarterlyDrillWorkflow');
    // The config asks for approval: the scheduled run waits for it; cancel it there, nothing has run.
    await waitFor('the scheduled drill to wait for approval', async () => (await handle.query(statusQuery)).step === 'Wait for approval', { timeoutMs: 60_000, intervalMs: 500 });
    await handle.cancel();
    await assert.rejects(handle.result(), (err: unknown) => err instanceof WorkflowFailedError && err.cause instanceof CancelledFailure);
    for await (const sch of client.schedule.list()) await client.schedule.getHandle(sch.scheduleId).delete();
  });
});
