import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ApplicationFailure } from '@temporalio/common';
import { componentConfig, type ComponentConfig } from '../../lib/config/components';
import { startKubernetes, type KubernetesStack } from '../../dev-stack/kubernetes';
import { writeKubeconfig } from '../../dev-stack/kubernetes-files';
import { platformFor } from '../../lib/platform';
import { KubernetesAdapter } from '../../lib/platform/kubernetes';
import { tempDir } from '../harness/temp';
import { createWorkload, processAlive } from '../../dev-stack/kubernetes-workloads';

async function rejection(p: Promise<unknown>): Promise<ApplicationFailure> {
  const err = await p.then(() => undefined, (e: unknown) => e);
  assert.ok(err instanceof ApplicationFailure, `expected an ApplicationFailure, got ${String(err)}`);
  return err;
}

describe('Kubernetes platform adapter against a real kube-apiserver (kine, controller-manager, scheduler, kwok node)', function () {
  this.timeout(300_000);
  const tmp = tempDir('k8s-platform');
  let k8s: KubernetesStack;
  let pids: number[] = [];

  const component = (kind: 'StatefulSet' | 'Deployment', name: string, extra: Record<string, unknown> = {}): ComponentConfig =>
    componentConfig.parse({ name: `c-${name}`, platform: { type: 'kubernetes', kind, namespace: 'logging', name, kubeconfig: k8s.kubeconfig, rolloutTimeoutSeconds: 60, ...extra } });

  before(async () => {
    k8s = await startKubernetes(join(tmp.dir, 'k8s'));
    pids = k8s.processes.map((p) => p.pid!);
    await k8s.api('POST', '/api/v1/namespaces', { metadata: { name: 'logging' } });
    await createWorkload(k8s, 'StatefulSet', 'logging', 'victorialogs-primary', 2);
    await createWorkload(k8s, 'Deployment', 'logging', 'collector', 3);
    await createWorkload(k8s, 'StatefulSet', 'logging', 'idle', 0);
    await createWorkload(k8s, 'Deployment', 'logging', 'autoscaled', 2);
    const hpa = await k8s.api('POST', '/apis/autoscaling/v2/namespaces/logging/horizontalpodautoscalers', {
      metadata: { name: 'autoscaled' },
      spec: { scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'autoscaled' }, minReplicas: 2, maxReplicas: 5 },
    });
    assert.equal(hpa.status, 201, JSON.stringify(hpa.body));
  });

  after(async () => {
    await k8s?.stop();
    const left = pids.filter(processAlive);
    tmp.cleanup();
    assert.deepEqual(left, [], 'kine, the control plane and kwok are all stopped');
  });

  it('scales a StatefulSet to 0 and back to the 2 replicas it had, waiting for the rollout each way', async () => {
    const adapter = platformFor(component('StatefulSet', 'victorialogs-primary'));
    const before = await adapter.status();
    assert.deepEqual(before, { component: 'c-victorialogs-primary', running: true, detail: 'StatefulSet logging/victorialogs-primary 2/2 ready', replicas: { desired: 2, ready: 2 } });

    const t0 = process.hrtime.bigint();
    const record = await adapter.stop();
    const tStopped = process.hrtime.bigint();
    assert.equal(record.previousReplicas, 2);
    assert.equal(record.wasStopped, undefined);
    const pods = (await k8s.api('GET', '/api/v1/namespaces/logging/pods?labelSelector=app%3Dvictorialogs-primary')).body as { items: unknown[] };
    assert.equal(pods.items.length, 0, 'its pods are gone, not just unready');
    assert.deepEqual((await adapter.status()).replicas, { desired: 0, ready: 0 });

    const after = await adapter.start(record);
    const t1 = process.hrtime.bigint();
    assert.deepEqual(after.replicas, { desired: 2, ready: 2 });
    assert.equal(after.running, true);
    console.log(`      measured: scale-down ${Number(tStopped - t0) / 1e6} ms, round trip ${Number(t1 - t0) / 1e6} ms (StatefulSet 2 → 0 → 2, kwok node)`);
  });

  it('scales a Deployment to 0 and back to 3 replicas', async () => {
    const adapter = platformFor(component('Deployment', 'collector'));
    const record = await adapter.stop();
    assert.equal(record.previousReplicas, 3);
    assert.equal((await adapter.status()).running, false);
    assert.deepEqual((await adapter.start(record)).replicas, { desired: 3, ready: 3 });
  });

  it('leaves a workload that was already at 0 replicas at 0, and is idempotent when stopped twice', async () => {
    const adapter = platformFor(component('StatefulSet', 'idle'));
    const record = await adapter.stop();
    assert.equal(record.wasStopped, true);
    assert.equal(record.previousReplicas, 0);
    assert.deepEqual((await adapter.start(record)).replicas, { desired: 0, ready: 0 });
  });

  it('refuses to scale a Deployment a HorizontalPodAutoscaler controls unless allowHpa is set', async () => {
    const err = await rejection(platformFor(component('Deployment', 'autoscaled')).stop());
    assert.equal(err.type, 'InvalidInput');
    assert.equal(
      err.message,
      'component c-autoscaled: Deployment logging/autoscaled is controlled by HorizontalPodAutoscaler logging/autoscaled (minReplicas 2), ' +
        'which would scale it back up during the drill; set platform.allowHpa: true to scale it anyway, or suspend the HPA first',
    );
    const scale = (await k8s.api('GET', '/apis/apps/v1/namespaces/logging/deployments/autoscaled/scale')).body as { spec: { replicas: number } };
    assert.equal(scale.spec.replicas, 2, 'nothing was scaled');

    const allowed = platformFor(component('Deployment', 'autoscaled', { allowHpa: true }));
    const record = await allowed.stop();
    assert.equal(record.previousReplicas, 2);
    await allowed.start(record);
  });

  it('names a missing namespace, a missing resource, a missing kubeconfig, one that does not load and an unknown context, each with the fix', async () => {
    const cases: [Record<string, unknown>, RegExp][] = [
      [{ namespace: 'nope' }, /^component x: namespace "nope" does not exist on https:\/\/127\.0\.0\.1:\d+ \(kubeconfig .*\); fix platform\.namespace or the kubeconfig\/context$/],
      [{ name: 'victorialogs-tertiary' }, /^component x: StatefulSet logging\/victorialogs-tertiary does not exist on https:\/\/127\.0\.0\.1:\d+ \(kubeconfig .*admin\.kubeconfig\); fix platform\.kind, platform\.name or platform\.namespace$/],
      [{ kubeconfig: join(tmp.dir, 'absent.kubeconfig') }, /^component x: platform\.kubeconfig .*absent\.kubeconfig does not exist; give the path of a kubeconfig file readable by the worker/],
      [{ kubeconfig: join(tmp.dir, 'garbage.kubeconfig') }, /^component x: platform\.kubeconfig .*garbage\.kubeconfig does not load \(.+\); check it with `kubectl config view --kubeconfig /],
      [{ context: 'staging' }, /^component x: platform\.context "staging" is not in kubeconfig .*; its contexts: secdr-test; fix platform\.context or the kubeconfig$/],
    ];
    writeFileSync(join(tmp.dir, 'garbage.kubeconfig'), 'clusters: [ {name: a, cluster: {server: 1}\n');
    for (const [override, expected] of cases) {
      const c = component('StatefulSet', 'victorialogs-primary', override);
      const err = await rejection(new KubernetesAdapter('x', c.platform as never).status());
      assert.equal(err.type, 'InvalidInput', JSON.stringify(override));
      assert.match(err.message, expected);
    }
    const err = await rejection(new KubernetesAdapter('x', component('StatefulSet', 'victorialogs-primary').platform as never).start());
    assert.match(err.message, /needs the StopRecord of its stop \(the replica count it had\)/);
  });

  it('fails retryably, naming the API server, when it cannot be reached', async () => {
    const dead = writeKubeconfig(join(tmp.dir, 'dead.kubeconfig'), { server: 'https://127.0.0.1:1', caFile: k8s.caFile, token: 'x' });
    const err = await rejection(platformFor(component('StatefulSet', 'victorialogs-primary', { kubeconfig: dead })).status());
    assert.equal(err.type, 'PlatformActionFailed');
    assert.equal(err.nonRetryable, false);
    assert.match(err.message, /^component c-victorialogs-primary: cannot reach the API server https:\/\/127\.0\.0\.1:1 \(kubeconfig .*dead\.kubeconfig\) to get StatefulSet logging\/victorialogs-primary/);
  });
});
