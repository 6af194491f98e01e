import assert from 'node:assert/strict';
import { join } from 'node:path';
import { ApplicationFailure } from '@temporalio/common';
import { startKubernetes, type KubernetesStack } from '../../dev-stack/kubernetes';
import { processAlive } from '../../dev-stack/kubernetes-workloads';
import { readCertificate, requestRenewal } from '../../lib/platform/cert-manager';
import { tempDir } from '../harness/temp';

async function rejection(p: Promise<unknown>): Promise<ApplicationFailure> {
  const err = await p.then(() => undefined, (e: unknown) => e);
  assert.ok(err instanceof ApplicationFailure, `expected an ApplicationFailure, got ${String(err)}`);
  return err;
}

describe("cert-manager Certificates on a real kube-apiserver with cert-manager's CRDs", function () {
  this.timeout(300_000);
  const tmp = tempDir('k8s-certs');
  let k8s: KubernetesStack;
  let pids: number[] = [];

  before(async () => {
    k8s = await startKubernetes(join(tmp.dir, 'k8s'), { workloads: false });
    pids = k8s.processes.map((p) => p.pid!);
    await k8s.api('POST', '/api/v1/namespaces', { metadata: { name: 'logging' } });
  });

  after(async () => {
    await k8s?.stop();
    const left = pids.filter(processAlive);
    tmp.cleanup();
    assert.deepEqual(left, [], 'kine and the API server are stopped');
  });

  it("reads a Certificate and requests a renewal like cmctl renew (cert-manager's status transitions written by the test: its controller cannot run here)", async () => {
    const ns = '/apis/cert-manager.io/v1/namespaces/logging';
    assert.equal((await k8s.api('POST', `${ns}/issuers`, { apiVersion: 'cert-manager.io/v1', kind: 'Issuer', metadata: { name: 'internal-ca' }, spec: { ca: { secretName: 'ca-key-pair' } } })).status, 201);
    const created = await k8s.api('POST', `${ns}/certificates`, {
      apiVersion: 'cert-manager.io/v1',
      kind: 'Certificate',
      metadata: { name: 'logs-tls' },
      spec: { secretName: 'logs-tls', dnsNames: ['logs.example'], issuerRef: { name: 'internal-ca', kind: 'Issuer' } },
    });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const ref = { kubeconfig: k8s.kubeconfig, namespace: 'logging', name: 'logs-tls', who: 'component c-logs' };
    assert.equal((await readCertificate(ref)).ready, 'Unknown', 'no status before the (simulated) controller writes one');

    // What cert-manager's controller writes after issuing (here: by the test, in its place).
    const issued = await k8s.api('PATCH', `${ns}/certificates/logs-tls/status`, {
      status: {
        conditions: [{ type: 'Ready', status: 'True', reason: 'Ready', message: 'Certificate is up to date and has not expired', lastTransitionTime: '2026-11-29T00:00:00Z' }],
        notBefore: '2026-11-29T00:00:00Z',
        notAfter: '2027-02-27T00:00:00Z',
        renewalTime: '2027-01-28T00:00:00Z',
        revision: 1,
      },
    });
    assert.equal(issued.status, 200, JSON.stringify(issued.body));
    assert.deepEqual(await readCertificate(ref), {
      namespace: 'logging',
      name: 'logs-tls',
      ready: 'True',
      readyReason: 'Ready',
      readyMessage: 'Certificate is up to date and has not expired',
      issuing: false,
      issuingReason: undefined,
      issuingMessage: undefined,
      notAfter: '2027-02-27T00:00:00Z',
      notBefore: '2026-11-29T00:00:00Z',
      renewalTime: '2027-01-28T00:00:00Z',
      revision: 1,
      issuer: { kind: 'Issuer', name: 'internal-ca', group: 'cert-manager.io' },
      secretName: 'logs-tls',
    });

    const renewal = await requestRenewal(ref);
    assert.equal(renewal.alreadyIssuing, false);
    assert.equal(renewal.issuing, true);
    assert.equal(renewal.issuingReason, 'ManuallyTriggered');
    assert.equal(renewal.ready, 'True', 'the other conditions are kept');
    const stored = (await k8s.api('GET', `${ns}/certificates/logs-tls`)).body as { status: { conditions: { type: string; status: string; reason: string; message: string }[] } };
    assert.deepEqual(
      stored.status.conditions.map((c) => [c.type, c.status, c.reason, c.message]),
      [
        ['Ready', 'True', 'Ready', 'Certificate is up to date and has not expired'],
        ['Issuing', 'True', 'ManuallyTriggered', 'Certificate re-issuance manually triggered'],
      ],
    );
    assert.equal((await requestRenewal(ref)).alreadyIssuing, true, 'a second request while issuing writes nothing');

    // cert-manager finishing the re-issuance (again written by the test): the new revision reads back.
    await k8s.api('PATCH', `${ns}/certificates/logs-tls/status`, {
      status: { conditions: [stored.status.conditions[0]], notAfter: '2027-02-28T00:00:00Z', revision: 2 },
    });
    const renewed = await readCertificate(ref);
    assert.deepEqual([renewed.issuing, renewed.revision, renewed.notAfter], [false, 2, '2027-02-28T00:00:00Z']);

    const missing = await rejection(readCertificate({ ...ref, name: 'nope' }));
    assert.match(missing.message, /^component c-logs: Certificate logging\/nope does not exist \(or cert-manager's CRDs are not installed\)/);
  });
});
