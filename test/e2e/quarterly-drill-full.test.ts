import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { stringify } from 'yaml';
import { startTlsEndpoint, startOpenBaoPkiCa, type LocalCa, type TlsEndpoint } from '../../dev-stack/pki';
import { startAlertmanager, type HttpServer } from '../../dev-stack/prometheus';
import { victoriaLogsComponent, victoriaLogsSpec } from '../../dev-stack/victorialogs';
import { startVlagent, type Vlagent } from '../../dev-stack/vlagent';
import { platformFor } from '../../lib/platform';
import { MOTO_ENV, startDrStack, type DrStack } from '../../dev-stack/dr-stack';
import { startRecordingReceivers, writeDeployedAlertmanagerConfig, type RecordingReceivers } from '../../dev-stack/recording-receivers';
import { tempDir } from '../harness/temp';
import { startWorkerProcess, type WorkerProcess } from '../harness/worker-process';

const repo = resolve(__dirname, '..', '..');

/**
 * The quarterly drill over every drill, the way CI runs it, on the local stack: Temporal dev
 * server, moto (S3 + KMS), PostgreSQL, OpenBao source + fresh DR targets (vault-restore),
 * VictoriaLogs ×2 + vlagent (log-failover), OpenBao PKI + a TLS endpoint (ca-outage),
 * Alertmanager with the deployed routing tree and the recording receivers (alerting), a
 * `secdr worker` process, and the `secdr` CLI. Once passing, once with an injected failure (a
 * silence that swallows critical pages): exit code, JUnit and stored report show it, and every
 * component the drills stopped is running again afterwards.
 */
describe('quarterly drill over every drill on the local stack (CLI, worker process, every server real)', function () {
  this.timeout(1_200_000);
  const tmp = tempDir('e2e-quarterly-full');
  let stack: DrStack | undefined;
  let vlagent: Vlagent | undefined;
  let ca: LocalCa | undefined;
  let endpoint: TlsEndpoint | undefined;
  let am: HttpServer | undefined;
  let rx: RecordingReceivers | undefined;
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
        { cwd: repo, env: { ...process.env, ...MOTO_ENV, TEMPORAL_ADDRESS: stack!.temporal.address, TEMPORAL_NAMESPACE: 'default' }, timeout: 900_000, maxBuffer: 16 << 20 },
        (err, stdout, stderr) => ok({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr, seconds: (Date.now() - started) / 1000 }),
      );
    });
  }

  before(async () => {
    stack = await startDrStack({ dir: tmp.dir, targets: 2, taskQueue: 'secdr-e2e-quarterly-full' });
    const [p, s] = await Promise.all([victoriaLogsSpec(tmp.dir, 'logs-primary'), victoriaLogsSpec(tmp.dir, 'logs-secondary')]);
    const canaryFile = join(tmp.dir, 'canary.log');
    vlagent = await startVlagent({ dir: tmp.dir, tailFile: canaryFile, backends: [p.url, s.url] });
    ca = await startOpenBaoPkiCa(join(tmp.dir, 'ca'));
    endpoint = await startTlsEndpoint({ name: 'web', dir: join(tmp.dir, 'endpoints'), ...(await ca.issue(['localhost', '127.0.0.1'], '2h')) });
    const trustStore = join(tmp.dir, 'trust.pem');
    writeFileSync(trustStore, await ca.rootPem());
    rx = await startRecordingReceivers();
    const amDir = join(tmp.dir, 'alertmanager');
    mkdirSync(amDir, { recursive: true });
    am = await startAlertmanager(amDir, writeDeployedAlertmanagerConfig(amDir, rx));
    raw = {
      ...stack.raw,
      components: [victoriaLogsComponent(p), victoriaLogsComponent(s), ca.component],
      logPipeline: {
        primary: { type: 'victorialogs', url: p.url, component: p.name },
        secondary: { type: 'victorialogs', url: s.url, component: s.name },
        canary: { file: canaryFile },
        outageWindowSeconds: 20,
        catchUpLimitSeconds: 90,
      },
      caOutage: {
        ca: ca.caConfig,
        endpoints: [{ name: 'web', address: endpoint.address, renewal: { certFile: endpoint.certFile, keyFile: endpoint.keyFile, names: ['localhost', '127.0.0.1'], reloadUrl: endpoint.reloadUrl, ttl: '720h' } }],
        trustStores: [trustStore],
        outageWindowSeconds: 3600,
        renewalMarginSeconds: 3600,
        renewalSloSeconds: 60,
        requestTimeoutSeconds: 3,
      },
      alertmanager: { url: am.url },
      alertingDrill: { deliveryProbe: { url: rx.probeUrl }, expectReceiver: 'critical' },
      quarterlyDrill: { drills: ['vault-restore', 'log-failover', 'ca-outage', 'alerting'] },
    };
    await Promise.all([platformFor(victoriaLogsComponent(p)).start(), platformFor(victoriaLogsComponent(s)).start()]);
    worker = await startWorkerProcess({ dir: tmp.dir, name: 'w1', config: { ...raw, restore: { ...(raw.restore as object), testTarget: 'dr-1' } }, temporalAddress: stack.temporal.address, env: MOTO_ENV });
    const snap = await secdr(configFor('dr-1'), ['snapshot', '--wait']);
    assert.equal(snap.code, 0, `snapshot before the drills: ${snap.stderr}`);
  });

  after(async () => {
    await worker?.process.stop();
    for (const c of (raw?.components as { name: string }[] | undefined) ?? []) await platformFor(c as never).stop().catch(() => undefined);
    await Promise.all([vlagent?.process.stop(), am?.process.stop(), endpoint?.close(), ca?.stop(), rx?.close()]);
    await stack?.stop();
    tmp.cleanup();
  });

  const componentsRunning = async () => Promise.all(((raw.components as never[]) ?? []).map(async (c) => (await platformFor(c).status()).running));

  it('passes: exit 0, one JUnit suite per drill with no failure, every component running again', async () => {
    const junit = join(tmp.dir, 'pass.xml');
    const r = await secdr(configFor('dr-1'), ['drill', 'quarterly', '--wait', '--junit', junit]);
    console.log(`      full quarterly drill wall time through the CLI: ${r.seconds.toFixed(1)} s`);
    assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
    const xml = readFileSync(junit, 'utf8');
    for (const d of ['vault-restore', 'log-failover', 'ca-outage', 'alerting']) assert.match(xml, new RegExp(`<testsuite name="${d}"[^>]* failures="0"`));
    assert.deepEqual(await componentsRunning(), [true, true, true]);
  });

  it('fails with an injected failure in one drill, the others still pass; exit 1, JUnit and report name it', async () => {
    const now = new Date();
    const res = await fetch(`${am!.url}/api/v2/silences`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ matchers: [{ name: 'alertname', value: 'DR_DRILL_TEST', isRegex: false, isEqual: true }], startsAt: now.toISOString(), endsAt: new Date(now.getTime() + 3600_000).toISOString(), createdBy: 'e2e', comment: 'injected failure' }),
    });
    assert.equal(res.status, 200);
    const junit = join(tmp.dir, 'fail.xml');
    const r = await secdr(configFor('dr-2'), ['drill', 'quarterly', '--wait', '--junit', junit, '--json']);
    assert.equal(r.code, 1, `${r.stdout}\n${r.stderr}`);
    const report = JSON.parse(r.stdout) as { outcome: string; details: { drills: { drill: string; outcome: string }[] }; findings: string[]; comparison?: unknown };
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
});
