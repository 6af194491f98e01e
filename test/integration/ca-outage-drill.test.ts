import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes, randomUUID, X509Certificate } from 'node:crypto';
import { appendFileSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { stringify } from 'yaml';
import { Client, Connection, WorkflowFailedError, type WorkflowHandle } from '@temporalio/client';
import { NativeConnection, type Worker } from '@temporalio/worker';
import type { SecdrConfig } from '../../lib/config/schema';
import { startCfsslCa, startOpenBaoPkiCa, startTlsEndpoint, type LocalCa, type LocalCfsslCa, type TlsEndpoint } from '../../dev-stack/pki';
import { ManagedProcess } from '../../dev-stack/supervisor';
import { startTemporalDevServer, type TemporalDevServer } from '../../dev-stack/temporal';
import { waitFor } from '../../dev-stack/wait';
import { platformFor } from '../../lib/platform';
import { fingerprint } from '../../lib/pki/pem';
import { probeTls } from '../../lib/pki/tls-probe';
import { dataConverterFor } from '../../lib/temporal/connect';
import { caOutage } from '../../procedures/ca-outage';
import { createWorker } from '../../workers/worker';
import { caOutageWorkflow, type CaOutageReport } from '../../workflows/ca-outage';
import { statusQuery } from '../../workflows/frame';
import { testConfig } from '../harness/config';
import { tempDir } from '../harness/temp';

const repo = resolve(__dirname, '..', '..');

/** One CA with two TLS endpoints serving 2-hour certificates it issued, a trust store with its root, a worker. */
interface Rig {
  ca: LocalCa;
  endpoints: TlsEndpoint[];
  trustStore: string;
  config: SecdrConfig;
  raw: Record<string, unknown>;
  worker?: Worker;
  running?: Promise<void>;
}

describe('CA-outage drill on a real Temporal dev server, real CAs and real TLS endpoints', function () {
  this.timeout(300_000);
  const tmp = tempDir('ca-outage');
  let temporal: TemporalDevServer;
  let nativeConnection: NativeConnection;
  let client: Client;
  const rigs: Rig[] = [];
  const workers: ManagedProcess[] = [];
  let crash: { configFile: string } | undefined;

  async function rig(name: string, ca: LocalCa, overrides: Record<string, unknown> = {}): Promise<Rig> {
    const dir = join(tmp.dir, name);
    const endpoints: TlsEndpoint[] = [];
    for (const ep of ['web', 'api']) endpoints.push(await startTlsEndpoint({ name: ep, dir: join(dir, 'endpoints'), ...(await ca.issue(['localhost', '127.0.0.1'], '2h')) }));
    const trustStore = join(dir, 'trust.pem');
    writeFileSync(trustStore, await ca.rootPem());
    const raw = {
      temporal: { taskQueue: `ca-${name}-${randomUUID()}` },
      codec: { keyId: 'ca-test', key: { file: codecKey } },
      components: [ca.component],
      reportsDir: join(dir, 'reports'),
      caOutage: {
        ca: ca.caConfig,
        endpoints: endpoints.map((e) => ({ name: e.name, address: e.address, renewal: { certFile: e.certFile, keyFile: e.keyFile, names: ['localhost', '127.0.0.1'], reloadUrl: e.reloadUrl, ttl: '720h' } })),
        trustStores: [trustStore],
        outageWindowSeconds: 3600,
        renewalMarginSeconds: 3600,
        renewalSloSeconds: 60,
        requestTimeoutSeconds: 3,
        ...overrides,
      },
    };
    const r: Rig = { ca, endpoints, trustStore, raw, config: testConfig(dir, raw) };
    rigs.push(r);
    return r;
  }

  async function serve(r: Rig): Promise<void> {
    r.worker = await createWorker({ config: r.config, connection: nativeConnection, namespace: 'default' });
    r.running = r.worker.run();
  }

  const start = (r: Rig, opts: Record<string, string> = {}) => {
    const input = caOutage.input(r.config, opts);
    return client.workflow.start(caOutageWorkflow, { taskQueue: r.config.temporal.taskQueue, workflowId: caOutage.workflowId(input, new Date()) + randomUUID().slice(0, 4), args: [input] });
  };
  const caRunning = async (r: Rig) => (await platformFor(r.ca.component).status()).running;
  const served = async (e: TlsEndpoint) => {
    const p = await probeTls(e.address, undefined, 3000);
    assert.ok(p.ok);
    return p.chain[0];
  };
  const waitForStep = (handle: WorkflowHandle, step: RegExp) =>
    waitFor(`the drill to reach "${step.source}"`, async () => step.test((await handle.query(statusQuery)).step ?? ''), { timeoutMs: 120_000, intervalMs: 200 });

  const codecKey = join(tmp.dir, 'codec.key');

  before(async () => {
    writeFileSync(codecKey, randomBytes(32).toString('base64'), { mode: 0o600 });
    temporal = await startTemporalDevServer({ dir: join(tmp.dir, 'temporal') });
    nativeConnection = await NativeConnection.connect({ address: temporal.address });
  });

  after(async () => {
    for (const r of rigs) r.worker?.shutdown();
    await Promise.all(rigs.map((r) => r.running?.catch(() => undefined)));
    await Promise.all(workers.map((w) => w.stop()));
    await Promise.all(rigs.flatMap((r) => r.endpoints.map((e) => e.close())));
    await Promise.all(rigs.map((r) => r.ca.stop()));
    await nativeConnection?.close().catch(() => undefined);
    await client?.connection.close().catch(() => undefined);
    await temporal?.process.stop();
    tmp.cleanup();
  });

  for (const kind of ['openbao-pki', 'cfssl'] as const) {
    it(`passes against ${kind}: certificates serve through the outage, renewal fails fast as CaUnavailable, recovers within the SLO, the endpoints serve the renewed certificates under the same root`, async () => {
      const ca = kind === 'cfssl' ? await startCfsslCa(join(tmp.dir, `${kind}-ca`)) : await startOpenBaoPkiCa(join(tmp.dir, `${kind}-ca`));
      const r = await rig(kind, ca);
      client ??= new Client({ connection: await Connection.connect({ address: temporal.address }), dataConverter: dataConverterFor(r.config) });
      await serve(r);
      const before = await Promise.all(r.endpoints.map(served));
      const report = (await (await start(r)).result()) as CaOutageReport;

      assert.equal(report.outcome, 'succeeded', report.error);
      assert.deepEqual(
        report.steps.map((s) => s.name),
        [
          'Record the certificates in use',
          'Check the drill can stop and start the CA',
          'Make the CA unavailable',
          'Check existing certificates still serve and verify',
          'Attempt a renewal while the CA is down',
          'Bring the CA back',
          'Renew a certificate',
          'Install the renewed certificate on web',
          'Install the renewed certificate on api',
          'Check every endpoint chains to the root',
        ],
      );
      const d = report.details;
      assert.equal(d.failureType, 'CaUnavailable');
      assert.equal(d.root?.changed, false);
      assert.equal(d.root?.recorded, d.inventory?.trustAnchorFingerprint);
      assert.equal(report.slos[0].slo, 'renewal succeeds after the CA is back');
      assert.equal(report.slos[0].met, true);
      assert.equal(d.renewalRecoverySeconds, Math.round(report.slos[0].measuredSeconds! * 10) / 10);
      // 2-hour certificates do not outlive a 1 h outage plus 1 h renewal margin: findings, not failures.
      assert.equal(d.headroom?.length, 2);
      assert.ok(d.headroom!.every((h) => h.short && h.headroomSeconds < 0));
      assert.equal(report.findings.filter((f) => /expires .* within the outage window/.test(f)).length, 2);
      assert.deepEqual(report.compensations.map((c) => [c.name, c.outcome]), [['Bring the CA back', 'not needed']]);
      assert.equal(await caRunning(r), true, 'the CA is back');

      // The endpoints now serve the renewed certificates, new serials, same root.
      const now = await Promise.all(r.endpoints.map(served));
      assert.deepEqual(now.map((c) => c.serialNumber.toUpperCase()), d.installed!.map((i) => i.serial));
      now.forEach((c, i) => assert.notEqual(c.serialNumber, before[i].serialNumber));
      assert.ok(d.installed!.every((i) => i.rootFingerprint === d.root!.recorded));
      assert.ok(r.endpoints.every((e) => e.reloads === 1));
      const md = readFileSync(report.reportFiles!.markdown, 'utf8');
      assert.match(md, /Renew a certificate/);
      // The Markdown report's headroom table, one row per endpoint: serial, notAfter, time left, headroom.
      for (const h of d.headroom!) assert.ok(md.includes(`| ${h.endpoint} | CN=localhost | ${h.serial} | ${h.notAfter} | ${h.remaining} | `), md);
      console.log(`      ${kind}: ${caOutage.summarize!(report)}; failure detected in ${d.failureDetectedSeconds} s; headroom ${d.headroom!.map((h) => `${h.endpoint} ${h.remaining} left (${h.headroomSeconds} s vs window+margin)`).join(', ')}`);
    });
  }

  it('passes with a sealed instead of stopped CA: a `command` component seals OpenBao (sys/seal), renewal fails as CaUnavailable 503 (sealed), unsealing brings it back', async () => {
    const ca = await startOpenBaoPkiCa(join(tmp.dir, 'sealed-ca'), 'sealed-ca', { seal: 'shamir' });
    const r = await rig('sealed', ca);
    client ??= new Client({ connection: await Connection.connect({ address: temporal.address }), dataConverter: dataConverterFor(r.config) });
    await serve(r);
    const report = (await (await start(r)).result()) as CaOutageReport;
    assert.equal(report.outcome, 'succeeded', report.error);
    const detail = (name: string) => report.steps.find((s) => s.name === name)?.detail ?? '';
    assert.match(detail('Make the CA unavailable'), /sealed-ca stopped \(command\)/);
    assert.equal(report.details.failureType, 'CaUnavailable');
    assert.match(detail('Attempt a renewal while the CA is down'), /answered 503 \(sealed\)/);
    assert.equal(report.details.root?.changed, false);
    assert.equal(report.details.installed?.length, 2);
    assert.equal(await caRunning(r), true, 'unsealed again');
    console.log(`      sealed OpenBao: failure detected in ${report.details.failureDetectedSeconds} s, renewal recovered ${report.details.renewalRecoverySeconds} s after the unseal started`);
  });

  it('a cancelled drill still brings the CA back', async () => {
    const r = rigs.find((x) => x.ca.type === 'openbao-pki')!;
    const handle = await start(r, { holdSeconds: '120' });
    await waitForStep(handle, /^Keep the CA down/);
    assert.equal(await caRunning(r), false, 'the drill stopped the CA');
    await handle.cancel();
    await assert.rejects(handle.result());
    assert.equal(await caRunning(r), true, 'the undo brought the CA back');
    const desc = await handle.describe();
    assert.equal(desc.status.name, 'CANCELLED');
  });

  it('a rebuilt CA with a new root fails the drill as "root changed", listing trust stores and endpoints, until the trust store carries the new root and every endpoint serves under it', async () => {
    const ca = await startCfsslCa(join(tmp.dir, 'rebuilt-ca'));
    const r = await rig('rebuilt', ca);
    // One endpoint without renewal files: the drill cannot move it to the new root, so it must name it and the fix.
    const legacy = await startTlsEndpoint({ name: 'legacy', dir: join(tmp.dir, 'rebuilt', 'endpoints'), ...(await ca.issue(['localhost', '127.0.0.1'], '2h')) });
    r.endpoints.push(legacy);
    (r.raw.caOutage as { endpoints: unknown[] }).endpoints.push({ name: 'legacy', address: legacy.address });
    r.config = testConfig(join(tmp.dir, 'rebuilt'), r.raw);
    const renewable = r.endpoints.filter((e) => e !== legacy);
    client ??= new Client({ connection: await Connection.connect({ address: temporal.address }), dataConverter: dataConverterFor(r.config) });
    await serve(r);
    const oldRoot = await ca.rootPem();
    const handle = await start(r, { holdSeconds: '3' });
    await waitForStep(handle, /^Keep the CA down/);
    (ca as LocalCfsslCa).rebuildRoot();
    const newRoot = await ca.rootPem();
    assert.notEqual(newRoot, oldRoot);
    const failedReport = async (h: WorkflowHandle) => {
      const err = await h.result().then(
        () => assert.fail('the drill must fail'),
        (e: unknown) => e as WorkflowFailedError,
      );
      return (err.cause as { details?: unknown[] }).details![0] as CaOutageReport;
    };
    const report = await failedReport(handle);
    assert.equal(report.outcome, 'failed');
    assert.match(report.error!, /root changed/);
    assert.ok(report.error!.includes(r.trustStore), report.error);
    assert.match(report.error!, /web \(127\.0\.0\.1:\d+\), api \(127\.0\.0\.1:\d+\), legacy \(127\.0\.0\.1:\d+\)/);
    assert.equal(report.details.root?.changed, true);
    assert.equal(await caRunning(r), true, 'the CA is back even though the drill failed');
    // Nothing was installed: clients with the old trust store still reach the endpoints.
    assert.ok(r.endpoints.every((e) => e.reloads === 0));

    // Distribute the new root (keeping the old one): the drill moves web and api over, then fails on legacy, naming it and the fix.
    appendFileSync(r.trustStore, `\n${newRoot}`);
    const second = await failedReport(await start(r));
    assert.equal(second.details.root?.changed, true);
    assert.ok(second.findings.some((f) => /^root changed/.test(f)));
    assert.equal(second.details.installed?.length, 2);
    assert.equal(second.steps.at(-1)?.name, 'Check every endpoint chains to the root');
    assert.equal(second.steps.at(-1)?.outcome, 'failed');
    assert.match(second.error!, /^root changed: the CA now issues under root [0-9a-f]{16}…, not the recorded [0-9a-f]{16}…, and 1 endpoint\(s\) still serve a certificate under the old one/);
    assert.match(second.error!, /endpoint legacy \(caOutage\.endpoints\[2\], 127\.0\.0\.1:\d+\) serves serial [0-9A-F]+ under the old root "[^"]*secdr cfssl root/);
    assert.match(second.error!, /no caOutage\.endpoints\[\]\.renewal files/);
    assert.match(second.error!, /Renew or re-issue legacy from the CA and reload it/);
    assert.ok(second.error!.includes(`keep the old root in the trust stores (${r.trustStore})`), second.error);
    assert.doesNotMatch(second.error!, /something replaced/);
    for (const e of renewable) assert.equal((await served(e)).issuer, new X509Certificate(newRoot).subject);

    // Re-issue legacy under the new root by hand, as the message says: the drill passes.
    const reissued = await ca.issue(['localhost', '127.0.0.1'], '2h');
    writeFileSync(legacy.certFile, reissued.chainPem);
    writeFileSync(legacy.keyFile, reissued.keyPem);
    assert.equal((await fetch(legacy.reloadUrl, { method: 'POST' })).status, 204);
    const third = (await (await start(r)).result()) as CaOutageReport;
    assert.equal(third.outcome, 'succeeded', third.error);
    for (const e of r.endpoints) assert.equal((await served(e)).issuer, new X509Certificate(newRoot).subject);
  });

  it('a rebuilt OpenBao PKI (new root and intermediate) fails the drill as "root changed" too, and passes once the trust store carries the new root', async () => {
    const ca = await startOpenBaoPkiCa(join(tmp.dir, 'rebuilt-bao-ca'), 'rebuilt-bao-ca');
    const r = await rig('rebuilt-bao', ca);
    client ??= new Client({ connection: await Connection.connect({ address: temporal.address }), dataConverter: dataConverterFor(r.config) });
    await serve(r);
    const oldRoot = await ca.rootPem();
    // Long enough a hold to bring the stopped CA up, rebuild its PKI and stop it again before the drill brings it back.
    const handle = await start(r, { holdSeconds: '20' });
    await waitForStep(handle, /^Keep the CA down/);
    await ca.start();
    await ca.rebuildRoot();
    await platformFor(ca.component).stop();
    const newRoot = await ca.rootPem();
    assert.notEqual(newRoot, oldRoot);
    const err = await handle.result().then(
      () => assert.fail('the drill must fail while the trust store lacks the new root'),
      (e: unknown) => e as WorkflowFailedError,
    );
    const report = (err.cause as { details?: unknown[] }).details![0] as CaOutageReport;
    assert.match(report.error!, /root changed: the CA now issues under "CN=secdr test rebuilt root \d+"/);
    assert.ok(report.error!.includes(r.trustStore), report.error);
    assert.match(report.error!, /web \(127\.0\.0\.1:\d+\), api \(127\.0\.0\.1:\d+\)/);
    assert.equal(report.details.root?.changed, true);
    assert.equal(report.details.root?.afterRecovery, fingerprint(new X509Certificate(newRoot)));
    assert.equal(await caRunning(r), true);
    assert.ok(r.endpoints.every((e) => e.reloads === 0));

    appendFileSync(r.trustStore, `\n${newRoot}`);
    const second = (await (await start(r)).result()) as CaOutageReport;
    assert.equal(second.outcome, 'succeeded', second.error);
    assert.equal(second.details.root?.changed, true);
    assert.equal(second.details.installed?.length, 2);
    assert.ok(second.details.installed!.every((i) => i.rootFingerprint === report.details.root!.afterRecovery));
  });

  it('completes on a second worker after the first is killed while the CA is down, and the CA is back', async () => {
    const r = rigs.find((x) => x.ca.type === 'openbao-pki')!;
    const configFile = join(tmp.dir, 'crash.yaml');
    const taskQueue = `ca-crash-${randomUUID()}`;
    writeFileSync(configFile, stringify({ ...r.raw, temporal: { taskQueue }, clusters: r.config.clusters, storage: r.config.storage }));
    const startWorker = (n: number) => {
      const w = new ManagedProcess({
        name: `secdr worker ${n}`,
        command: join(repo, 'node_modules', '.bin', 'tsx'),
        args: [join(repo, 'scripts', 'secdr.ts'), '--config', configFile, 'worker'],
        env: { ...process.env, TEMPORAL_ADDRESS: temporal.address, TEMPORAL_NAMESPACE: 'default' },
        cwd: repo,
        logFile: join(tmp.dir, `crash-worker-${n}.log`),
      }).start();
      workers.push(w);
      return w;
    };
    const first = startWorker(1);
    const input = caOutage.input(r.config, { holdSeconds: '5' });
    const handle = await client.workflow.start(caOutageWorkflow, { taskQueue, workflowId: `ca-outage-crash-${randomUUID()}`, args: [input] });
    await waitForStep(handle, /^Keep the CA down/);
    assert.equal(await caRunning(r), false);
    process.kill(-first.pid!, 'SIGKILL');
    await waitFor('worker 1 to be gone', async () => !first.alive);
    startWorker(2);
    const report = (await handle.result()) as CaOutageReport;
    assert.equal(report.outcome, 'succeeded', report.error);
    assert.equal(await caRunning(r), true);
    const identities = new Set(
      ((await handle.fetchHistory()).events ?? []).map((e) => e.workflowTaskCompletedEventAttributes?.identity ?? e.activityTaskStartedEventAttributes?.identity).filter(Boolean),
    );
    assert.ok(identities.size >= 2, `task identities: ${[...identities].join(', ')}`);
    assert.ok(existsSync(report.reportFiles!.json));
    crash = { configFile };
  });

  it('`secdr drill ca-outage --wait --json` runs the drill from the CLI (exit 0, JSON report); bad options exit 2 naming the option', async () => {
    assert.ok(crash, 'needs the worker of the previous test');
    const secdr = (args: string[]) =>
      new Promise<{ code: number; stdout: string; stderr: string }>((done) => {
        execFile(join(repo, 'node_modules', '.bin', 'tsx'), [join(repo, 'scripts', 'secdr.ts'), '--config', crash!.configFile, ...args], { cwd: repo, env: { ...process.env, TEMPORAL_ADDRESS: temporal.address, TEMPORAL_NAMESPACE: 'default' } }, (err, stdout, stderr) =>
          done({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
        );
      });
    const ok = await secdr(['drill', 'ca-outage', '--wait', '--json']);
    assert.equal(ok.code, 0, ok.stderr);
    const report = JSON.parse(ok.stdout) as CaOutageReport;
    assert.equal(report.procedure, 'ca-outage');
    assert.equal(report.outcome, 'succeeded');
    assert.equal(report.details.failureType, 'CaUnavailable');
    assert.ok(report.details.renewalRecoverySeconds! >= 0);
    const bad = await secdr(['drill', 'ca-outage', '--hold-seconds', 'soon']);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--hold-seconds soon: give a whole number of seconds/);
  });
});
