import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { stringify } from 'yaml';
import { startDrillStack, type DrillStack } from '../../dev-stack/drill-stack';
import { MOTO_ENV } from '../../dev-stack/dr-stack';
import type { HttpServer } from '../../dev-stack/prometheus';
import { waitFor } from '../../dev-stack/wait';
import { promQuery } from '../harness/alerting';
import { tempDir } from '../harness/temp';
import { startWorkerProcess, type WorkerProcess } from '../harness/worker-process';

const repo = resolve(__dirname, '..', '..');
const DRILLS = ['vault-restore', 'log-failover', 'ca-outage', 'alerting'];
/** The drills whose freshness gauge (secdr_drill_last_success_timestamp_seconds{drill}) the run sets; vault-restore's is the restore gauge per cluster. */
const GAUGED = ['quarterly', 'log-failover', 'ca-outage', 'alerting'];

/**
 * The quarterly drill over every drill, the way CI runs it, on the local stack
 * (dev-stack/drill-stack.ts, the same the demo starts): Temporal dev server, moto (S3 + KMS),
 * PostgreSQL, OpenBao source + fresh DR targets (vault-restore), VictoriaLogs ×2 + vlagent
 * (log-failover), OpenBao PKI + a TLS endpoint (ca-outage), Alertmanager with the deployed routing
 * tree and the recording receivers (alerting), Prometheus with deploy/prometheus/rules scraping the
 * worker and vlagent, a `secdr worker` process, and the `secdr` CLI. Once passing, once with an
 * injected failure (a silence that swallows critical pages): exit code, JUnit and stored report
 * show it, and every component the drills stopped is running again afterwards.
 */
describe('quarterly drill over every drill on the local stack (CLI, worker process, every server real)', function () {
  this.timeout(1_200_000);
  const tmp = tempDir('e2e-quarterly-full');
  let stack: DrillStack | undefined;
  let prometheus: HttpServer | undefined;
  let worker: WorkerProcess | undefined;
  let raw: Record<string, unknown>;
  const configFor = (target: string) => {
    const file = join(tmp.dir, `secdr-${target}.yaml`);
    writeFileSync(file, stringify({ ...raw, restore: { ...(raw.restore as object), testTarget: target } }));
    return file;
  };

  function secdr(config: string, args: string[]): Promise<{ code: number; stdout: string; stderr: string; seconds: number }> {
    const started = Date.now();
    return new Promise((ok) => {
      execFile(
        join(repo, 'node_modules', '.bin', 'tsx'),
        [join(repo, 'scripts', 'secdr.ts'), '--config', config, ...args],
        { cwd: repo, env: { ...process.env, ...MOTO_ENV, TEMPORAL_ADDRESS: stack!.dr.temporal.address, TEMPORAL_NAMESPACE: 'default' }, timeout: 900_000, maxBuffer: 16 << 20 },
        (err, stdout, stderr) => ok({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr, seconds: (Date.now() - started) / 1000 }),
      );
    });
  }

  /** Drills for which Prometheus has SecdrDrillOverdue pending or firing, evaluated from the real rules. */
  const overdue = async (): Promise<string[]> => {
    const body = (await (await fetch(`${prometheus!.url}/api/v1/alerts`)).json()) as { data: { alerts: { labels: Record<string, string>; state: string }[] } };
    return body.data.alerts.filter((a) => a.labels.alertname === 'SecdrDrillOverdue').map((a) => a.labels.drill).sort();
  };

  before(async () => {
    stack = await startDrillStack({ dir: tmp.dir, targets: 2, taskQueue: 'secdr-e2e-quarterly-full' });
    raw = stack.raw;
    worker = await startWorkerProcess({ dir: tmp.dir, name: 'w1', config: { ...raw, restore: { ...(raw.restore as object), testTarget: 'dr-1' } }, temporalAddress: stack.dr.temporal.address, env: MOTO_ENV });
    prometheus = await stack.startPrometheus([`127.0.0.1:${worker.metricsPort}`]);
    const snap = await secdr(configFor('dr-1'), ['snapshot', '--wait']);
    assert.equal(snap.code, 0, `snapshot before the drills: ${snap.stderr}`);
  });

  after(async () => {
    await worker?.process.stop();
    await stack?.stop();
    tmp.cleanup();
  });

  const componentsRunning = () => stack!.componentsRunning();

  it('before any drill passed, the real rules hold SecdrDrillOverdue for every drill the worker exports as never succeeded', async () => {
    const pending = await waitFor('SecdrDrillOverdue for every drill', async () => {
      const o = await overdue();
      return GAUGED.every((d) => o.includes(d)) ? o : undefined;
    }, { timeoutMs: 60_000, intervalMs: 1000 });
    assert.deepEqual(pending.filter((d) => GAUGED.includes(d)), [...GAUGED].sort());
    for (const job of ['secdr-worker', 'vlagent']) assert.equal((await promQuery(prometheus!.url, `up{job="${job}"}`))[0]?.value[1], '1', `Prometheus scrapes ${job}`);
  });

  it('passes: exit 0, one JUnit suite per drill with no failure, every component running again', async () => {
    const junit = join(tmp.dir, 'pass.xml');
    const r = await secdr(configFor('dr-1'), ['drill', 'quarterly', '--wait', '--junit', junit]);
    console.log(`      full quarterly drill wall time through the CLI: ${r.seconds.toFixed(1)} s`);
    assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
    const xml = readFileSync(junit, 'utf8');
    for (const d of DRILLS) assert.match(xml, new RegExp(`<testsuite name="${d}"[^>]* failures="0"`));
    // Per-drill wall time (workflow start to end) for docs/benchmarks.md.
    for (const m of xml.matchAll(/<testsuite name="([^"]+)"[^>]* time="([\d.]+)"/g)) console.log(`      ${m[1]}: ${Number(m[2]).toFixed(1)} s`);
    assert.deepEqual(await componentsRunning(), [true, true, true]);
    // The worker set each drill's freshness gauge; Prometheus scraped it and the real rule let go.
    const still = await waitFor('SecdrDrillOverdue to end for the drills that passed', async () => {
      const o = await overdue();
      return GAUGED.some((d) => o.includes(d)) ? undefined : o;
    }, { timeoutMs: 60_000, intervalMs: 1000 });
    assert.deepEqual(still.filter((d) => GAUGED.includes(d)), []);
    // Not merely absent: Prometheus holds a fresh success time for each (an unscraped worker would also silence the rule).
    const fresh = await promQuery(prometheus!.url, 'time() - secdr_drill_last_success_timestamp_seconds{job="secdr-worker"} < 3600');
    assert.deepEqual(fresh.map((x) => x.metric.drill).filter((d) => GAUGED.includes(d)).sort(), [...GAUGED].sort());
  });

  let failedId = '';
  let silenceID = '';

  it('fails with an injected failure in one drill, the others still pass; exit 1, JUnit and report name it', async () => {
    const now = new Date();
    const res = await fetch(`${stack!.alertmanager.url}/api/v2/silences`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ matchers: [{ name: 'alertname', value: 'DR_DRILL_TEST', isRegex: false, isEqual: true }], startsAt: now.toISOString(), endsAt: new Date(now.getTime() + 3600_000).toISOString(), createdBy: 'e2e', comment: 'injected failure' }),
    });
    assert.equal(res.status, 200);
    silenceID = ((await res.json()) as { silenceID: string }).silenceID;
    const junit = join(tmp.dir, 'fail.xml');
    const r = await secdr(configFor('dr-2'), ['drill', 'quarterly', '--wait', '--junit', junit, '--json']);
    assert.equal(r.code, 1, `${r.stdout}\n${r.stderr}`);
    const report = JSON.parse(r.stdout) as { workflowId: string; outcome: string; details: { drills: { drill: string; outcome: string }[] }; findings: string[]; comparison?: unknown };
    failedId = report.workflowId;
    assert.equal(report.outcome, 'failed');
    assert.deepEqual(report.details.drills.map((d) => [d.drill, d.outcome]), [
      ['vault-restore', 'succeeded'],
      ['log-failover', 'succeeded'],
      ['ca-outage', 'succeeded'],
      ['alerting', 'failed'],
    ]);
    assert.ok(report.findings.some((f) => /^alerting: .*silenced/.test(f)), report.findings.join('\n'));
    assert.ok(report.comparison, 'compared with the passing run');
    assert.match(readFileSync(junit, 'utf8'), /<testsuite name="alerting"[^>]* failures="1"/);
    assert.deepEqual(await componentsRunning(), [true, true, true]);
  });

  it('`drill rerun` with the failure removed runs only the failed drill again; the report merges the passed ones', async () => {
    assert.ok(failedId, 'the injected-failure run ran');
    const del = await fetch(`${stack!.alertmanager.url}/api/v2/silence/${silenceID}`, { method: 'DELETE' });
    assert.equal(del.status, 200);
    const r = await secdr(configFor('dr-1'), ['drill', 'rerun', failedId, '--wait', '--json']);
    console.log(`      drill rerun (alerting only) wall time through the CLI: ${r.seconds.toFixed(1)} s`);
    assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
    const report = JSON.parse(r.stdout) as {
      workflowId: string;
      outcome: string;
      steps: { name: string }[];
      details: { rerunOf: string; drills: { drill: string; workflowId: string; outcome: string; reusedFrom?: string }[] };
    };
    assert.equal(report.outcome, 'succeeded');
    assert.equal(report.details.rerunOf, failedId);
    assert.deepEqual(
      report.details.drills.map((d) => [d.drill, d.outcome, d.reusedFrom ?? 'ran again', d.workflowId]),
      [
        ['vault-restore', 'succeeded', failedId, `${failedId}-vault-restore`],
        ['log-failover', 'succeeded', failedId, `${failedId}-log-failover`],
        ['ca-outage', 'succeeded', failedId, `${failedId}-ca-outage`],
        ['alerting', 'succeeded', 'ran again', `${report.workflowId}-alerting`],
      ],
    );
    // Only the alerting drill ran as a child of the re-run; the passed drills' steps come from the earlier run's evidence.
    const ran = report.steps.map((s) => s.name).filter((n) => /^Run the .* drill$/.test(n));
    assert.deepEqual(ran, ['Run the alerting drill']);
    for (const d of DRILLS) assert.ok(report.steps.some((s) => s.name.startsWith(`${d}: `)), `the merged report holds ${d}'s steps`);
    assert.deepEqual(await componentsRunning(), [true, true, true]);
  });
});
