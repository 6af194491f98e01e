import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { stringify } from 'yaml';
import { WorkflowFailedError } from '@temporalio/client';
import { Worker } from '@temporalio/worker';
import { createAlertActivities } from '../../activities/alertmanager';
import { createPlatformActivities } from '../../activities/platform';
import { createProcedureActivities } from '../../activities/procedure';
import { startKubernetes, type KubernetesStack } from '../../dev-stack/kubernetes';
import { createWorkload, processAlive } from '../../dev-stack/kubernetes-workloads';
import { ManagedProcess } from '../../dev-stack/supervisor';
import { GiveUp, waitFor } from '../../dev-stack/wait';
import type { ProcedureReport } from '../../lib/reports/types';
import { registerSearchAttributes } from '../../lib/search-attributes';
import { dataConverterFor } from '../../lib/temporal/connect';
import { PROBE_WORKER_READY } from '../fixtures/probe-worker';
import { testConfig } from '../harness/config';
import { tempDir } from '../harness/temp';
import { localEnv } from '../harness/temporal';
import { groupAlive } from '../harness/worker-process';
import { procedureKind } from '../../procedures';

const repo = resolve(__dirname, '..', '..');

describe('a drill that scales a StatefulSet to 0 puts back the replica count it had (real kube-apiserver, Temporal dev server)', function () {
  this.timeout(300_000);
  const tmp = tempDir('k8s-compensation');
  let k8s: KubernetesStack;
  let pids: number[] = [];
  let env: Awaited<ReturnType<typeof localEnv>>;
  let config: ReturnType<typeof testConfig>;
  let rawConfig: Record<string, unknown>;

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
    const components = [{ name: 'backend', platform: { type: 'kubernetes', kind: 'StatefulSet', namespace: 'logging', name: 'backend', kubeconfig: k8s.kubeconfig, rolloutTimeoutSeconds: 60 } }];
    config = testConfig(tmp.dir, { components });
    // The same config as a file, for the worker processes of the killed-worker case.
    rawConfig = {
      clusters: [{ name: 'test', nodes: ['http://127.0.0.1:1'], auth: { method: 'token', token: { env: 'SECDR_TEST_UNUSED' } } }],
      storage: [{ name: 'local', type: 'local', dir: join(tmp.dir, 'store') }],
      codec: { keyId: 'test-1', key: { file: join(tmp.dir, 'codec.key') } },
      components,
    };
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
      activities: { ...createPlatformActivities(config), ...createProcedureActivities(config, procedureKind), ...createAlertActivities(config) },
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

  /** A probe worker in its own process group, as one host runs it: killed with SIGKILL like a dying host. */
  async function startProbeWorker(name: string, taskQueue: string): Promise<ManagedProcess> {
    const configFile = join(tmp.dir, 'probe-worker.yaml');
    if (!existsSync(configFile)) writeFileSync(configFile, stringify(rawConfig));
    const logFile = join(tmp.dir, `${name}.log`);
    const proc = new ManagedProcess({
      name,
      command: join(repo, 'node_modules', '.bin', 'tsx'),
      args: [join(repo, 'test', 'fixtures', 'probe-worker.ts'), configFile, taskQueue],
      env: { ...process.env, TEMPORAL_ADDRESS: env.address },
      cwd: repo,
      logFile,
    }).start();
    await waitFor(
      `${name} to poll ${taskQueue}`,
      async () => {
        if (!proc.alive) throw new GiveUp(`${name} exited during start-up; log:\n${proc.tail()}`);
        return existsSync(logFile) && readFileSync(logFile, 'utf8').includes(PROBE_WORKER_READY);
      },
      { timeoutMs: 240_000, intervalMs: 250 },
    );
    return proc;
  }

  it('after the worker is killed as soon as the StatefulSet reads 0 (its stop step still waiting for the rollout), a replacement worker retries the stop, finishes the procedure, and the StatefulSet is back at 2 ready replicas', async () => {
    assert.deepEqual(await replicas(), { desired: 2, ready: 2 });
    const taskQueue = `k8s-comp-killed-${randomUUID()}`;
    const first = await startProbeWorker('probe-worker-1', taskQueue);
    const h = await env.client.workflow.start('platformProbeWorkflow', { taskQueue, workflowId: randomUUID(), args: [{ component: 'backend', then: 'hold', holdSeconds: 20 }] });
    await waitFor('the StatefulSet to be scaled to 0', async () => (await replicas()).desired === 0, { timeoutMs: 60_000, intervalMs: 200 });
    const pgid = first.pid!;
    process.kill(-pgid, 'SIGKILL');
    await waitFor('the killed worker to be gone', async () => !groupAlive(pgid), { timeoutMs: 10_000 });
    await first.stop();
    // Nothing puts the count back while no worker runs: the undo is the procedure's, not the adapter's.
    assert.equal((await replicas()).desired, 0);
    const second = await startProbeWorker('probe-worker-2', taskQueue);
    try {
      const report = (await h.result()) as ProcedureReport;
      assert.deepEqual(report.compensations.map((c) => [c.name, c.outcome]), [['start backend again', 'done']]);
      assert.deepEqual(await replicas(), { desired: 2, ready: 2 }, `after the undo; the run's steps: ${JSON.stringify(report.steps)}, undos: ${JSON.stringify(report.compensations)}`);
    } finally {
      await second.stop();
    }
  });
});
