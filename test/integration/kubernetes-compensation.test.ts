import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { WorkflowFailedError } from '@temporalio/client';
import { Worker } from '@temporalio/worker';
import { createAlertActivities } from '../../activities/alertmanager';
import { createPlatformActivities } from '../../activities/platform';
import { createProcedureActivities } from '../../activities/procedure';
import { startKubernetes, type KubernetesStack } from '../../dev-stack/kubernetes';
import { createWorkload, processAlive } from '../../dev-stack/kubernetes-workloads';
import { waitFor } from '../../dev-stack/wait';
import type { ProcedureReport } from '../../lib/reports/types';
import { registerSearchAttributes } from '../../lib/search-attributes';
import { dataConverterFor } from '../../lib/temporal/connect';
import { testConfig } from '../harness/config';
import { tempDir } from '../harness/temp';
import { localEnv } from '../harness/temporal';

describe('a drill that scales a StatefulSet to 0 puts back the replica count it had (real kube-apiserver, Temporal dev server)', function () {
  this.timeout(300_000);
  const tmp = tempDir('k8s-compensation');
  let k8s: KubernetesStack;
  let pids: number[] = [];
  let env: Awaited<ReturnType<typeof localEnv>>;
  let config: ReturnType<typeof testConfig>;

  const replicas = async () => {
    const r = await k8s.api('GET', '/apis/apps/v1/namespaces/logging/statefulsets/backend');
    const body = r.body as { spec: { replicas: number }; status: { readyReplicas?: number } };
    return { desired: body.spec.replicas, ready: body.status.readyReplicas ?? 0 };
  };

  before(async () => {
    k8s = await startKubernetes(join(tmp.dir, 'k8s'));
    pids = k8s.processes.map((p) => p.pid!);
    await k8s.api('POST', '/api/v1/namespaces', { metadata: { name: 'logging' } });
    await createWorkload(k8s, 'StatefulSet', 'logging', 'backend', 2);
    config = testConfig(tmp.dir, {
      components: [{ name: 'backend', platform: { type: 'kubernetes', kind: 'StatefulSet', namespace: 'logging', name: 'backend', kubeconfig: k8s.kubeconfig, rolloutTimeoutSeconds: 60 } }],
    });
    env = await localEnv(dataConverterFor(config));
    await registerSearchAttributes(env.connection, 'default');
  });

  after(async () => {
    await env?.teardown();
    await k8s?.stop();
    const left = pids.filter(processAlive);
    tmp.cleanup();
    assert.deepEqual(left, [], 'the control plane is stopped');
  });

  async function run(then: 'fail' | 'wait', during?: (h: { cancel(): Promise<unknown> }) => Promise<void>) {
    const taskQueue = `k8s-comp-${randomUUID()}`;
    const worker = await Worker.create({
      connection: env.nativeConnection,
      taskQueue,
      workflowsPath: require.resolve('../fixtures/workflows/platform-probe'),
      activities: { ...createPlatformActivities(config), ...createProcedureActivities(config), ...createAlertActivities(config) },
      dataConverter: dataConverterFor(config),
    });
    return worker.runUntil(async () => {
      const h = await env.client.workflow.start('platformProbeWorkflow', { taskQueue, workflowId: randomUUID(), args: [{ component: 'backend', then }] });
      await during?.(h);
      return h.result() as Promise<ProcedureReport>;
    });
  }

  it('after a failure during the outage, the StatefulSet is back at 2 ready replicas and the report says the undo ran', async () => {
    assert.deepEqual(await replicas(), { desired: 2, ready: 2 });
    const err = await run('fail').then(() => undefined, (e: unknown) => e);
    assert.ok(err instanceof WorkflowFailedError, String(err));
    const report = (err.cause as { details?: ProcedureReport[] }).details![0];
    assert.deepEqual(report.compensations.map((c) => [c.name, c.outcome]), [['start backend again', 'done']]);
    assert.deepEqual(await replicas(), { desired: 2, ready: 2 });
  });

  it('after a cancellation while it is held at 0, the StatefulSet is back at 2 ready replicas', async () => {
    const err = await run('wait', async (h) => {
      await waitFor('the StatefulSet to be scaled to 0', async () => (await replicas()).desired === 0, { timeoutMs: 60_000, intervalMs: 200 });
      await h.cancel();
    }).then(() => undefined, (e: unknown) => e);
    assert.ok(err instanceof WorkflowFailedError && err.cause?.name === 'CancelledFailure', String(err));
    assert.deepEqual(await replicas(), { desired: 2, ready: 2 });
  });
});
