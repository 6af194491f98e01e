import assert from 'node:assert/strict';
import { randomBytes, randomUUID, X509Certificate } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Client, Connection, WorkflowFailedError } from '@temporalio/client';
import { NativeConnection, type Worker } from '@temporalio/worker';
import { createPkiActivities } from '../../activities/pki';
import { startKubernetes, type KubernetesStack } from '../../dev-stack/kubernetes';
import { processAlive } from '../../dev-stack/kubernetes-workloads';
import { startOpenBaoPkiCa, startTlsEndpoint, type LocalCa, type TlsEndpoint } from '../../dev-stack/pki';
import { startTemporalDevServer, type TemporalDevServer } from '../../dev-stack/temporal';
import type { SecdrConfig } from '../../lib/config/schema';
import { platformFor } from '../../lib/platform';
import { dataConverterFor } from '../../lib/temporal/connect';
import { caOutage } from '../../procedures/ca-outage';
import { createWorker } from '../../workers/worker';
import { caOutageWorkflow, type CaOutageReport } from '../../workflows/ca-outage';
import { testConfig } from '../harness/config';
import { tempDir } from '../harness/temp';
import type { Condition } from '../../lib/platform/cert-manager';

const NS = 'apps';
const CERTS = `/apis/cert-manager.io/v1/namespaces/${NS}/certificates`;

interface Crt {
  metadata: { name: string };
  spec: { dnsNames?: string[] };
  status?: { conditions?: Condition[]; revision?: number };
}

const now = () => new Date().toISOString().replace(/\.\d+Z$/, 'Z');

/**
 * Stands in for cert-manager's controller (it cannot run here): for every Certificate whose
 * Issuing condition is True it issues from the real CA and writes what cert-manager writes:
 * a new revision, Ready and the validity on success; Issuing=False, reason Failed, with the
 * error on failure (Ready kept: the old certificate is still valid). So the outcome the drill
 * reads depends on the real CA being up or down.
 */
function certManagerStandIn(k8s: KubernetesStack, ca: LocalCa) {
  let stopped = false;
  const issue = async (crt: Crt) => {
    const kept = (crt.status?.conditions ?? []).filter((c) => c.type !== 'Issuing');
    try {
      const { chainPem } = await ca.issue(crt.spec.dnsNames ?? ['localhost'], '2h');
      const leaf = new X509Certificate(chainPem);
      const ready: Condition = { type: 'Ready', status: 'True', reason: 'Ready', message: 'Certificate is up to date and has not expired', lastTransitionTime: now() };
      return {
        conditions: [...kept.filter((c) => c.type !== 'Ready'), ready],
        notBefore: new Date(leaf.validFrom).toISOString().replace(/\.\d+Z$/, 'Z'),
        notAfter: new Date(leaf.validTo).toISOString().replace(/\.\d+Z$/, 'Z'),
        revision: (crt.status?.revision ?? 0) + 1,
      };
    } catch (err) {
      const message = `The certificate request has failed to complete and will be retried: ${(err as Error).message}`;
      return { conditions: [...kept, { type: 'Issuing', status: 'False', reason: 'Failed', message, lastTransitionTime: now() }], lastFailureTime: now() };
    }
  };
  const loop = (async () => {
    while (!stopped) {
      const list = (await k8s.api('GET', CERTS)).body as { items?: Crt[] };
      for (const crt of list.items ?? []) {
        if (!crt.status?.conditions?.some((c) => c.type === 'Issuing' && c.status === 'True')) continue;
        const res = await k8s.api('PATCH', `${CERTS}/${crt.metadata.name}/status`, { status: await issue(crt) });
        assert.equal(res.status, 200, JSON.stringify(res.body));
      }
      await new Promise((r) => setTimeout(r, 200));
    }
  })();
  return {
    async stop() {
      stopped = true;
      await loop;
    },
  };
}

describe("CA-outage drill with a cert-manager Certificate endpoint on a real kube-apiserver and a real OpenBao CA (cert-manager's controller cannot run here: the test writes its status transitions, issuing from the real CA)", function () {
  this.timeout(420_000);
  const tmp = tempDir('k8s-ca-outage');
  let temporal: TemporalDevServer;
  let k8s: KubernetesStack;
  let k8sPids: number[] = [];
  let ca: LocalCa;
  let web: TlsEndpoint;
  let trustStore: string;
  let nativeConnection: NativeConnection;
  let client: Client;
  let controller: ReturnType<typeof certManagerStandIn> | undefined;
  const workers: { worker: Worker; running: Promise<void> }[] = [];
  const codecKey = join(tmp.dir, 'shared-codec.key');

  const configFor = (certificate: Record<string, unknown>, extra: Record<string, unknown> = {}): SecdrConfig =>
    testConfig(tmp.dir, {
      temporal: { taskQueue: `k8s-ca-${randomUUID()}` },
      // One codec key for every config: the client's data converter is made from the first.
      codec: { keyId: 'k8s-ca-test', key: { file: codecKey } },
      components: [ca.component],
      reportsDir: join(tmp.dir, 'reports'),
      caOutage: {
        ca: ca.caConfig,
        endpoints: [
          { name: 'web', address: web.address, renewal: { certFile: web.certFile, keyFile: web.keyFile, names: ['localhost', '127.0.0.1'], reloadUrl: web.reloadUrl } },
          { name: 'ingress', certificate: { namespace: NS, kubeconfig: k8s.kubeconfig, reportTimeoutSeconds: 60, ...certificate } },
        ],
        trustStores: [trustStore],
        outageWindowSeconds: 3600,
        renewalMarginSeconds: 3600,
        renewalSloSeconds: 60,
        requestTimeoutSeconds: 3,
        ...extra,
      },
    });

  const run = async (config: SecdrConfig) => {
    const worker = await createWorker({ config, connection: nativeConnection, namespace: 'default' });
    workers.push({ worker, running: worker.run() });
    client ??= new Client({ connection: await Connection.connect({ address: temporal.address }), dataConverter: dataConverterFor(config) });
    const input = caOutage.input(config, {});
    const handle = await client.workflow.start(caOutageWorkflow, { taskQueue: config.temporal.taskQueue, workflowId: `k8s-ca-outage-${randomUUID()}`, args: [input] });
    return handle.result().then(
      (r) => ({ report: r as CaOutageReport, error: undefined }),
      (err: unknown) => {
        assert.ok(err instanceof WorkflowFailedError, String(err));
        return { report: (err.cause as { details?: unknown[] }).details![0] as CaOutageReport, error: err.cause!.message };
      },
    );
  };
  const caRunning = async () => (await platformFor(ca.component).status()).running;
  const createCertificate = async (name: string, status?: Record<string, unknown>) => {
    const created = await k8s.api('POST', CERTS, {
      apiVersion: 'cert-manager.io/v1',
      kind: 'Certificate',
      metadata: { name },
      spec: { secretName: name, dnsNames: [`${name}.secdr.test`], issuerRef: { name: 'openbao', kind: 'Issuer' } },
    });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    if (status) assert.equal((await k8s.api('PATCH', `${CERTS}/${name}/status`, { status })).status, 200);
  };

  before(async () => {
    writeFileSync(codecKey, randomBytes(32).toString('base64'), { mode: 0o600 });
    [temporal, k8s, ca] = await Promise.all([
      startTemporalDevServer({ dir: join(tmp.dir, 'temporal') }),
      startKubernetes(join(tmp.dir, 'k8s'), { workloads: false }),
      startOpenBaoPkiCa(join(tmp.dir, 'ca')),
    ]);
    k8sPids = k8s.processes.map((p) => p.pid!);
    nativeConnection = await NativeConnection.connect({ address: temporal.address });
    web = await startTlsEndpoint({ name: 'web', dir: join(tmp.dir, 'endpoints'), ...(await ca.issue(['localhost', '127.0.0.1'], '2h')) });
    trustStore = join(tmp.dir, 'trust.pem');
    writeFileSync(trustStore, await ca.rootPem());
    assert.equal((await k8s.api('POST', '/api/v1/namespaces', { metadata: { name: NS } })).status, 201);
    const issuer = { apiVersion: 'cert-manager.io/v1', kind: 'Issuer', metadata: { name: 'openbao' }, spec: { vault: { server: ca.address, path: 'pki_int/sign/service', auth: { appRole: { path: 'approle', roleId: 'x', secretRef: { name: 'approle', key: 'secretId' } } } } } };
    assert.equal((await k8s.api('POST', `/apis/cert-manager.io/v1/namespaces/${NS}/issuers`, issuer)).status, 201);
    controller = certManagerStandIn(k8s, ca);
    // The first issuance, as cert-manager does it when the Certificate is created.
    await createCertificate('ingress-tls', { conditions: [{ type: 'Issuing', status: 'True', reason: 'DoesNotExist', message: 'Issuing certificate as Secret does not exist', lastTransitionTime: now() }] });
    for (let i = 0; ; i++) {
      const crt = (await k8s.api('GET', `${CERTS}/ingress-tls`)).body as Crt;
      if (crt.status?.revision === 1) break;
      assert.ok(i < 100, 'the stand-in issued the first revision');
      await new Promise((r) => setTimeout(r, 200));
    }
  });

  after(async () => {
    await controller?.stop().catch(() => undefined);
    for (const w of workers) w.worker.shutdown();
    await Promise.all(workers.map((w) => w.running.catch(() => undefined)));
    await nativeConnection?.close().catch(() => undefined);
    await client?.connection.close().catch(() => undefined);
    await web?.close();
    await ca?.stop();
    await k8s?.stop();
    await temporal?.process.stop();
    const left = k8sPids.filter(processAlive);
    tmp.cleanup();
    assert.deepEqual(left, [], 'kine and the API server are stopped');
  });

  it('passes with a Certificate beside a host:port endpoint: inventory and headroom from its status, Issuing=False (Failed) while the CA is down, a new Ready revision after it is back', async () => {
    const { report, error } = await run(configFor({ name: 'ingress-tls' }));
    assert.equal(report.outcome, 'succeeded', error);
    assert.deepEqual(report.steps.map((s) => s.name), [
      'Record the certificates in use',
      'Check the drill can stop and start the CA',
      'Make the CA unavailable',
      'Check existing certificates still serve and verify',
      'Attempt a renewal while the CA is down',
      'Attempt a renewal of ingress through cert-manager while the CA is down',
      'Bring the CA back',
      'Renew a certificate',
      'Renew ingress through cert-manager',
      'Install the renewed certificate on web',
      'Check every endpoint chains to the root',
    ]);
    const d = report.details;
    const inv = d.inventory!;
    assert.equal(inv.endpoints.length, 1);
    assert.deepEqual(
      inv.certificates.map((c) => [c.endpoint, c.certificate, c.ready, c.revision, c.issuer, c.secretName]),
      [['ingress', `${NS}/ingress-tls`, 'True', 1, 'Issuer/openbao', 'ingress-tls']],
    );
    // The Certificate's 2-hour certificate does not outlive 1 h outage + 1 h margin: a finding from its status.
    const line = d.headroom!.find((h) => h.endpoint === 'ingress')!;
    assert.equal(line.serial, 'revision 1');
    assert.equal(line.notAfter, inv.certificates[0].notAfter);
    assert.ok(line.short && line.headroomSeconds < 0 && line.headroomSeconds > -3600, JSON.stringify(line));
    assert.ok(report.findings.some((f) => /certificate of ingress \(serial revision 1\) expires/.test(f)), report.findings.join('\n'));

    // While the CA was down, cert-manager (the stand-in, issuing from the stopped CA) reported the failure.
    assert.equal(d.failureType, 'CaUnavailable');
    assert.equal(d.certManagerFailures!.length, 1);
    assert.equal(d.certManagerFailures![0].reason, 'Failed');
    assert.match(d.certManagerFailures![0].message, /has failed to complete and will be retried: .*(ECONNREFUSED|connect|refused)/i);
    assert.ok(d.certManagerFailures![0].seconds < 30, `detected in ${d.certManagerFailures![0].seconds} s, not a hang`);

    // After the CA came back: a new Ready revision, recorded with its delay from the CA start.
    const renewed = d.certManagerRenewals![0];
    assert.deepEqual([renewed.endpoint, renewed.previousRevision], ['ingress', 1]);
    assert.ok(renewed.revision! >= 2);
    const stored = (await k8s.api('GET', `${CERTS}/ingress-tls`)).body as Crt & { status: { notAfter: string } };
    assert.equal(stored.status.revision, renewed.revision);
    assert.equal(stored.status.notAfter, renewed.notAfter);
    assert.ok(Date.parse(renewed.notAfter!) > Date.parse(inv.certificates[0].notAfter), 'the renewed certificate lasts longer');
    assert.ok(!stored.status.conditions!.some((c) => c.type === 'Issuing' && c.status === 'True'));
    assert.equal(d.installed!.length, 1, 'the host:port endpoint is renewed as before');
    assert.equal(await caRunning(), true);
    console.log(
      `      cert-manager failure reported ${d.certManagerFailures![0].seconds.toFixed(1)} s after the request; renewed ${renewed.secondsAfterCaStart} s after the CA was started (${renewed.requests} request(s)); ` +
        `CA probe renewal recovered in ${d.renewalRecoverySeconds} s; headroom ${d.headroom!.map((h) => `${h.endpoint} ${h.remaining} left`).join(', ')}`,
    );
  });

  it('a Certificate that is not Ready, or does not exist, fails the inventory naming the endpoint and the fix, and stops nothing', async () => {
    await createCertificate('broken-tls', { conditions: [{ type: 'Ready', status: 'False', reason: 'Failed', message: 'issuer openbao not ready', lastTransitionTime: now() }] });
    const rejects = async (config: SecdrConfig, type: string, message: RegExp) => {
      const err = await createPkiActivities(config).inventoryCertificates().then(() => undefined, (e: unknown) => e as { type?: string; message: string });
      assert.ok(err, 'the inventory must fail');
      assert.equal(err.type, type, err.message);
      assert.match(err.message, message);
    };
    await rejects(configFor({ name: 'broken-tls' }), 'CertificateExpired', /^endpoint ingress \(caOutage\.endpoints\[1\], Certificate apps\/broken-tls\): the Certificate is not Ready \(Ready=False, Failed: issuer openbao not ready\); fix its issuance first/);
    await rejects(configFor({ name: 'nope' }), 'InvalidInput', /Certificate apps\/nope does not exist .*fix the certificate's name or namespace/);
    assert.equal(await caRunning(), true);
  });

  it('a cert-manager that never answers fails the drill as RenewalNotReported after reportTimeoutSeconds (not a hang), and the CA is back', async () => {
    await controller!.stop();
    controller = undefined;
    const { report, error } = await run(configFor({ name: 'ingress-tls', reportTimeoutSeconds: 3 }));
    assert.equal(report.outcome, 'failed');
    assert.match(error!, /Certificate apps\/ingress-tls\): cert-manager reported no outcome \(Issuing\/Ready conditions\) \d+ s after the renewal request; check that the cert-manager controller is running/);
    assert.equal(report.steps.find((s) => s.outcome === 'failed')?.name, 'Attempt a renewal of ingress through cert-manager while the CA is down');
    assert.deepEqual(report.compensations.map((c) => [c.name, c.outcome]), [['Bring the CA back', 'done']]);
    assert.equal(await caRunning(), true, 'the undo brought the CA back');
  });
});
