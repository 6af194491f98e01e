import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { Client, Connection, WorkflowFailedError } from '@temporalio/client';
import { loadConfig } from '../../lib/config/load';
import type { SecdrConfig } from '../../lib/config/schema';
import { startPrometheus, type HttpServer } from '../../dev-stack/prometheus';
import type { ManagedProcess } from '../../dev-stack/supervisor';
import { startTemporalDevServer, type TemporalDevServer } from '../../dev-stack/temporal';
import { victoriaLogsComponent, victoriaLogsPipeline, victoriaLogsSpec } from '../../dev-stack/victorialogs';
import { startVlagent, type Vlagent } from '../../dev-stack/vlagent';
import { waitFor } from '../../dev-stack/wait';
import { platformFor, type PlatformAdapter } from '../../lib/platform';
import { dataConverterFor } from '../../lib/temporal/connect';
import { logFailover } from '../../procedures/log-failover';
import { logFailoverWorkflow } from '../../workflows';
import { statusQuery } from '../../workflows/frame';
import type { LogFailoverReport } from '../../workflows/log-failover';
import { deployDir, startSink, writePrometheusConfig } from '../harness/alerting';
import { tempDir } from '../harness/temp';
import { spawnSecdrWorker, workerCommand } from '../harness/worker-process';

interface PromAlert {
  labels: Record<string, string>;
  state: string;
}

/**
 * The log-failover drill end to end on real servers: Temporal dev server, `secdr worker` in
 * its own process, two VictoriaLogs (process components the drill stops and starts through
 * the platform adapter), vlagent tailing the canary file with one disk queue per backend, and
 * Prometheus scraping vlagent with deploy/prometheus/rules/log-pipeline.yml unchanged
 * (scrape/evaluation every 1 s here instead of 15 s; the rules' `for` as deployed), and the real
 * host-level detector (deploy/host/secdr-degraded-check.sh) paging a recording emergency webhook.
 */
describe('log-failover drill end to end (Temporal, secdr worker, VictoriaLogs ×2, vlagent, Prometheus)', function () {
  this.timeout(420_000);
  const tmp = tempDir('e2e-logs');
  let temporal: TemporalDevServer;
  let prometheus: HttpServer;
  let vlagent: Vlagent;
  let config: SecdrConfig;
  let configFile: string;
  let client: Client;
  let primary: PlatformAdapter;
  let secondary: PlatformAdapter;
  /** The emergency webhook the host-level detector pages (its path is the webhook's token). */
  let emergency: Awaited<ReturnType<typeof startSink>>;
  const webhookToken = randomBytes(12).toString('hex');
  const workers: ManagedProcess[] = [];
  const measured: string[] = [];

  function startWorker(n: number): ManagedProcess {
    const w = spawnSecdrWorker({ name: String(n), configFile, temporalAddress: temporal.address, logFile: join(tmp.dir, `worker-${n}.log`) });
    workers.push(w);
    return w;
  }

  before(async () => {
    const [p, s] = await Promise.all([victoriaLogsSpec(tmp.dir, 'logs-primary'), victoriaLogsSpec(tmp.dir, 'logs-secondary')]);
    const canaryFile = join(tmp.dir, 'canary.log');
    const promDir = join(tmp.dir, 'prometheus');
    mkdirSync(promDir, { recursive: true });
    const creds = join(tmp.dir, 'creds');
    mkdirSync(creds);
    writeFileSync(join(creds, 'codec.key'), randomBytes(32).toString('base64'), { mode: 0o600 });
    emergency = await startSink();
    writeFileSync(join(creds, 'emergency-webhook.url'), `${emergency.url}/emergency/${webhookToken}\n`, { mode: 0o600 });
    temporal = await startTemporalDevServer({ dir: join(tmp.dir, 'temporal') });
    vlagent = await startVlagent({ dir: tmp.dir, tailFile: canaryFile, backends: [p.url, s.url] });
    prometheus = await startPrometheus(
      promDir,
      writePrometheusConfig(promDir, {
        intervalSeconds: 1,
        ruleFiles: [join(deployDir, 'prometheus', 'rules', 'log-pipeline.yml')],
        scrapeConfigs: [{ job_name: 'vlagent', static_configs: [{ targets: [new URL(vlagent.url).host] }] }],
      }),
    );
    configFile = join(tmp.dir, 'secdr.yaml');
    writeFileSync(
      configFile,
      stringify({
        temporal: { taskQueue: 'secdr-e2e-logs' },
        clusters: [{ name: 'unused', nodes: ['http://127.0.0.1:1'], auth: { method: 'token', token: { env: 'SECDR_UNUSED' } } }],
        storage: [{ name: 'local', type: 'local', dir: join(tmp.dir, 'store') }],
        components: [victoriaLogsComponent(p), victoriaLogsComponent(s)],
        logPipeline: victoriaLogsPipeline(p, s, canaryFile, {
          outageWindowSeconds: 75,
          catchUpLimitSeconds: 60,
          prometheusUrl: prometheus.url,
          hostDetector: { script: join(deployDir, 'host', 'secdr-degraded-check.sh'), emergencyWebhook: { file: join(creds, 'emergency-webhook.url') } },
        }),
        reportsDir: join(tmp.dir, 'reports'),
        metrics: { port: 0 },
        codec: { keyId: 'e2e-logs', key: { file: join(creds, 'codec.key') } },
      }),
    );
    config = loadConfig(configFile);
    primary = platformFor(config.components[0]);
    secondary = platformFor(config.components[1]);
    await Promise.all([primary.start(), secondary.start()]);
    client = new Client({ connection: await Connection.connect({ address: temporal.address }), dataConverter: dataConverterFor(config) });
    startWorker(1);
  });

  after(async () => {
    if (measured.length) console.log(`\n  measured:\n${measured.map((m) => `    ${m}`).join('\n')}\n`);
    await client?.connection.close().catch(() => undefined);
    await Promise.all([...workers, vlagent?.process, prometheus?.process, temporal?.process].filter(Boolean).map((x) => x!.stop()));
    await emergency?.close();
    // The backends were started by the platform adapter (pid files), not the harness.
    await Promise.all([primary?.stop(), secondary?.stop()]);
    tmp.cleanup();
  });

  const start = (variant: string, over: Record<string, string> = {}) =>
    client.workflow.start(logFailoverWorkflow, {
      taskQueue: 'secdr-e2e-logs',
      workflowId: `log-failover-${variant}-${Date.now()}`,
      args: [logFailover.input(config, { variant, ...over })],
    });

  /** `secdr --config … <args>` as a user runs it (the compiled CLI when dist/ is current), against this test's Temporal. */
  const secdr = (args: string[]) =>
    new Promise<{ code: number; stdout: string; stderr: string }>((done) => {
      const cli = workerCommand();
      execFile(cli.command, [...cli.args, '--config', configFile, ...args], { env: { ...process.env, TEMPORAL_ADDRESS: temporal.address, TEMPORAL_NAMESPACE: 'default' }, timeout: 180_000 }, (err, stdout, stderr) =>
        done({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
      );
    });

  const alerts = async (): Promise<PromAlert[]> => {
    const body = (await (await fetch(`${prometheus.url}/api/v1/alerts`)).json()) as { data: { alerts: PromAlert[] } };
    return body.data.alerts;
  };
  const firing = async (alertname: string) => (await alerts()).filter((a) => a.labels.alertname === alertname && a.state === 'firing').map((a) => a.labels.url ?? a.labels.instance);

  it('dry-run checks steady state and the adapters and changes nothing', async () => {
    const r = await (await start('dry-run')).result();
    assert.equal(r.outcome, 'succeeded', r.error);
    assert.equal(r.details.canaries, undefined);
    assert.equal((await primary.status()).running, true);
    assert.equal(r.steps.some((s) => s.name.startsWith('Stop')), false);
  });

  it('`secdr drill log-failover --variant dry-run --wait --json` runs from the CLI (exit 0, JSON report, nothing stopped); a bad --variant exits 2 naming the option', async () => {
    const ok = await secdr(['drill', 'log-failover', '--variant', 'dry-run', '--wait', '--json']);
    assert.equal(ok.code, 0, ok.stderr);
    const report = JSON.parse(ok.stdout) as LogFailoverReport;
    assert.equal(report.procedure, 'log-failover');
    assert.equal(report.outcome, 'succeeded', report.error);
    assert.equal(report.details.variant, 'dry-run');
    assert.deepEqual(report.details.timeline.map((t) => t.event), ['steady state: canary 0 in both backends']);
    assert.equal(report.steps.some((s) => s.name.startsWith('Stop')), false);
    assert.ok(existsSync(report.reportFiles!.json));
    assert.equal((await primary.status()).running, true);
    const bad = await secdr(['drill', 'log-failover', '--variant', 'sideways', '--wait']);
    assert.equal(bad.code, 2, bad.stderr);
    assert.match(bad.stderr, /--variant sideways: unknown variant; use one of primary-down, both-down, dry-run/);
    assert.doesNotMatch(bad.stderr, /^started /m, 'nothing was started');
  });

  it('primary-down: the secondary has the canaries within 30 s, the per-output alert fires for the primary only, the primary catches up, the alert resolves', async () => {
    const handle = await start('primary-down');
    await waitFor('the drill to reach the outage', async () => (await handle.query(statusQuery)).phase === 'outage', { timeoutMs: 60_000, intervalMs: 250 });
    // While the primary is down: VlagentRemoteWriteErrors (for: 1m as deployed) for output 1 only.
    const [report, sawFiring] = await Promise.all([
      handle.result(),
      waitFor(
        'VlagentRemoteWriteErrors firing during the outage',
        async () => {
          const f = await firing('VlagentRemoteWriteErrors');
          return f.length ? f : undefined;
        },
        { timeoutMs: 120_000, intervalMs: 1000 },
      ),
    ]);
    assert.deepEqual(sawFiring, ['1:secret-url'], 'only the primary output (the first -remoteWrite.url) alerts');
    const r = report as LogFailoverReport;
    assert.equal(r.outcome, 'succeeded', r.error);
    const d = r.details;
    // About one a second for 75 s; fewer on a loaded machine (each round also queries the secondary).
    assert.ok(d.canaries!.sent >= 30, `sent ${d.canaries!.sent}`);
    assert.deepEqual(d.canaries!.primary.missing, []);
    assert.deepEqual(d.canaries!.secondary.missing, []);
    assert.equal(d.canaries!.primary.received, d.canaries!.sent);
    assert.ok(d.failoverDelaySeconds! <= 30, `failover delay ${d.failoverDelaySeconds} s`);
    assert.equal(r.slos[0].met, true);
    assert.deepEqual(r.compensations.map((c) => c.outcome), ['not needed']);
    assert.equal((await primary.status()).running, true);
    const md = readFileSync(r.reportFiles!.markdown, 'utf8');
    assert.match(md, /log-failover/);
    assert.ok(existsSync(r.reportFiles!.json));
    measured.push(
      `primary-down: ${d.canaries!.sent} canaries sent, primary ${d.canaries!.primary.received}, secondary ${d.canaries!.secondary.received}, ` +
        `missing 0/0; failover delay ${d.failoverDelaySeconds} s (SLO 30 s); catch-up ${d.catchUpSeconds} s`,
    );
    measured.push(`timeline: ${d.timeline.map((t) => `${t.seconds}s ${t.event}`).join(' | ')}`);

    // Restarted: no more send errors, so the 1m rate falls to 0 and the alert resolves.
    await waitFor('VlagentRemoteWriteErrors to resolve', async () => (await firing('VlagentRemoteWriteErrors')).length === 0, { timeoutMs: 120_000, intervalMs: 1000 });
  });

  it('both-down: both stop, LogPipelineDown and the per-output alerts fire, the host-level detector pages the emergency webhook, both restart and nothing is lost', async () => {
    // 110 s: LogPipelineDown needs a whole minute without a delivered block, then its for: 30s.
    const r = await (await start('both-down', { outageSeconds: '110' })).result();
    assert.equal(r.outcome, 'succeeded', r.error);
    assert.deepEqual(r.details.alertsFiring, ['LogPipelineDown', 'VlagentRemoteWriteErrors{url=1:secret-url}', 'VlagentRemoteWriteErrors{url=2:secret-url}']);
    // The real deploy/host script, run by the worker while both backends were down.
    const detector = r.details.hostDetector!;
    assert.equal(detector.exitCode, 1, detector.detail);
    assert.equal(detector.sentToEmergencyWebhook, true, detector.detail);
    const pages = emergency.received.filter((x) => x.path === `/emergency/${webhookToken}`);
    assert.equal(pages.length, 1, `pages: ${JSON.stringify(emergency.received)}`);
    const page = pages[0].body as { text: string; host: string; alerts: string[] };
    assert.match(page.text, /^DEGRADED MODE ALERT from .+: 1 alert\(s\) while central logging is unreachable/);
    assert.equal(page.alerts.length, 1);
    assert.ok(page.alerts[0].includes(`WARNING logging: central log endpoint ${new URL(config.logPipeline!.primary.url).origin}/health is not ready`), page.alerts[0]);
    assert.ok(!JSON.stringify(r).includes(webhookToken), 'the webhook URL stays out of the drill report');
    assert.ok(r.details.timeline.some((t) => t.event === 'host-level detector paged the emergency webhook'));
    assert.deepEqual(r.details.canaries!.primary.missing, []);
    assert.deepEqual(r.details.canaries!.secondary.missing, []);
    assert.deepEqual(r.compensations.map((c) => c.outcome), ['not needed', 'not needed']);
    assert.deepEqual(r.findings, []);
    assert.equal((await primary.status()).running, true);
    assert.equal((await secondary.status()).running, true);
    measured.push(`both-down: ${r.details.canaries!.sent} canaries, both backends complete after restart; catch-up ${r.details.catchUpSeconds} s; alerts ${r.details.alertsFiring!.join(', ')}; detector: ${detector.detail}`);
  });

  it('a killed worker mid-outage: a second worker finishes the drill and the primary is back with every canary', async () => {
    const handle = await start('primary-down', { outageSeconds: '20' });
    await waitFor('the primary to be stopped by the drill', async () => (await handle.query(statusQuery)).phase === 'outage' && !(await primary.status()).running, { timeoutMs: 60_000, intervalMs: 250 });
    const first = workers.at(-1)!;
    process.kill(-first.pid!, 'SIGKILL');
    await waitFor('worker to be gone', async () => !first.alive);
    startWorker(workers.length + 1);
    const r = await handle.result();
    assert.equal(r.outcome, 'succeeded', r.error);
    assert.equal((await primary.status()).running, true);
    assert.deepEqual(r.details.canaries!.primary.missing, []);
    measured.push(`killed worker: ${r.details.canaries!.sent} canaries, none missing; catch-up ${r.details.catchUpSeconds} s`);
  });

  it('a cancelled drill puts the primary back', async () => {
    const handle = await start('primary-down', { outageSeconds: '600' });
    await waitFor('the primary to be stopped by the drill', async () => (await handle.query(statusQuery)).phase === 'outage' && !(await primary.status()).running, { timeoutMs: 60_000, intervalMs: 250 });
    await handle.cancel();
    await assert.rejects(handle.result(), (err: unknown) => err instanceof WorkflowFailedError && /cancel/i.test(`${err.cause?.name} ${err.cause?.message}`));
    assert.equal((await primary.status()).running, true);
  });

  it('refuses to start while the secondary is down, and leaves the primary running', async () => {
    const rec = await secondary.stop();
    try {
      await assert.rejects((await start('primary-down')).result(), (err: unknown) => {
        assert.ok(err instanceof WorkflowFailedError);
        assert.match(String(err.cause?.message), /refusing to start: the secondary log backend \(logs-secondary\) is not healthy/);
        return true;
      });
      assert.equal((await primary.status()).running, true);
    } finally {
      await secondary.start(rec);
    }
  });
});
