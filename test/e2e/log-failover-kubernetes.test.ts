import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { WorkflowFailedError } from '@temporalio/client';
import { Worker } from '@temporalio/worker';
import { createActivities } from '../../activities';
import { startKubernetes, type KubernetesStack } from '../../dev-stack/kubernetes';
import { createWorkload, processAlive } from '../../dev-stack/kubernetes-workloads';
import { victoriaLogsComponent, victoriaLogsSpec } from '../../dev-stack/victorialogs';
import { startVlagent, type Vlagent } from '../../dev-stack/vlagent';
import { waitFor } from '../../dev-stack/wait';
import type { SecdrConfig } from '../../lib/config/schema';
import { platformFor, type PlatformAdapter } from '../../lib/platform';
import { registerSearchAttributes } from '../../lib/search-attributes';
import { dataConverterFor } from '../../lib/temporal/connect';
import { logFailover } from '../../procedures/log-failover';
import { statusQuery } from '../../workflows/frame';
import type { LogFailoverReport } from '../../workflows/log-failover';
import { testConfig } from '../harness/config';
import { tempDir } from '../harness/temp';
import { localEnv } from '../harness/temporal';
import { procedureKind } from '../../procedures';

const NAMESPACE = 'logging';
const STATEFULSET = 'logs-primary';
const REPLICAS = 2;

/**
 * The test plays the kubelet for the primary backend's pods: kwok's pods run nothing, so
 * without this the data path would not change when the drill scales the StatefulSet. It polls
 * the StatefulSet and stops the local VictoriaLogs primary when spec.replicas reaches 0, and
 * starts it again when it is scaled back up. Readiness in the API stays kwok's.
 */
function startKubeletStandIn(k8s: KubernetesStack, backend: PlatformAdapter) {
  const events: { replicas: number; action: 'stopped' | 'started' }[] = [];
  let stopped = false;
  let failure: Error | undefined;
  const loop = (async () => {
    while (!stopped) {
      const res = await k8s.api('GET', `/apis/apps/v1/namespaces/${NAMESPACE}/statefulsets/${STATEFULSET}`);
      const replicas = (res.body as { spec: { replicas: number } }).spec.replicas;
      const running = (await backend.status()).running;
      if (replicas === 0 && running) {
        await backend.stop();
        events.push({ replicas, action: 'stopped' });
      } else if (replicas > 0 && !running) {
        await backend.start();
        events.push({ replicas, action: 'started' });
      }
      await new Promise((ok) => setTimeout(ok, 250));
    }
  })().catch((err: unknown) => {
    failure = err as Error;
  });
  return {
    events,
    assertHealthy: () => assert.equal(failure, undefined, `the kubelet stand-in failed: ${failure?.message}`),
    stop: async () => {
      stopped = true;
      await loop;
    },
  };
}

describe('log-failover drill on Kubernetes: the primary is a StatefulSet scaled through the kubernetes adapter (real kube-apiserver + kwok; a test-harness kubelet stand-in stops and starts the local VictoriaLogs behind it)', function () {
  this.timeout(420_000);
  const tmp = tempDir('e2e-logs-k8s');
  let k8s: KubernetesStack;
  let pids: number[] = [];
  let env: Awaited<ReturnType<typeof localEnv>>;
  let vlagent: Vlagent;
  let config: SecdrConfig;
  let primaryProcess: PlatformAdapter;
  let secondary: PlatformAdapter;
  let kubelet: ReturnType<typeof startKubeletStandIn>;
  let worker: Worker;
  let running: Promise<void>;
  const taskQueue = `log-failover-k8s-${randomUUID()}`;
  const measured: string[] = [];

  const statefulSet = async () => {
    const body = (await k8s.api('GET', `/apis/apps/v1/namespaces/${NAMESPACE}/statefulsets/${STATEFULSET}`)).body as {
      spec: { replicas: number };
      status: { readyReplicas?: number };
    };
    return { desired: body.spec.replicas, ready: body.status.readyReplicas ?? 0 };
  };
  /**
   * spec.replicas is what the drill sets and must put back, exactly; readiness is kwok's node
   * heartbeat, which lags on a loaded machine, so it gets a minute to come back.
   */
  const assertBackAt = async (replicas: number) => {
    assert.equal((await statefulSet()).desired, replicas);
    await waitFor(`${replicas} ready replicas`, async () => (await statefulSet()).ready === replicas, { timeoutMs: 60_000, intervalMs: 250 });
  };

  before(async () => {
    k8s = await startKubernetes(join(tmp.dir, 'k8s'));
    pids = k8s.processes.map((p) => p.pid!);
    await k8s.api('POST', '/api/v1/namespaces', { metadata: { name: NAMESPACE } });
    await createWorkload(k8s, 'StatefulSet', NAMESPACE, STATEFULSET, REPLICAS);
    const [p, s] = await Promise.all([victoriaLogsSpec(tmp.dir, 'logs-primary-pod'), victoriaLogsSpec(tmp.dir, 'logs-secondary')]);
    const canaryFile = join(tmp.dir, 'canary.log');
    vlagent = await startVlagent({ dir: tmp.dir, tailFile: canaryFile, backends: [p.url, s.url] });
    config = testConfig(tmp.dir, {
      components: [
        {
          name: 'logs-primary',
          platform: { type: 'kubernetes', kind: 'StatefulSet', namespace: NAMESPACE, name: STATEFULSET, kubeconfig: k8s.kubeconfig, rolloutTimeoutSeconds: 60 },
        },
        victoriaLogsComponent(s),
      ],
      logPipeline: {
        primary: { type: 'victorialogs', url: p.url, component: 'logs-primary' },
        secondary: { type: 'victorialogs', url: s.url, component: s.name },
        canary: { file: canaryFile },
        outageWindowSeconds: 40,
        catchUpLimitSeconds: 60,
      },
      reportsDir: join(tmp.dir, 'reports'),
    });
    // The primary's "pod": the same local process the other log-failover e2e stops directly.
    primaryProcess = platformFor(victoriaLogsComponent(p));
    secondary = platformFor(config.components[1]);
    await Promise.all([primaryProcess.start(), secondary.start()]);
    kubelet = startKubeletStandIn(k8s, primaryProcess);
    env = await localEnv(dataConverterFor(config));
    await registerSearchAttributes(env.connection, 'default');
    worker = await Worker.create({
      connection: env.nativeConnection,
      taskQueue,
      workflowsPath: require.resolve('../../workflows'),
      activities: createActivities(config, procedureKind),
      dataConverter: dataConverterFor(config),
    });
    running = worker.run();
  });

  after(async () => {
    if (measured.length) console.log(`\n  measured:\n${measured.map((m) => `    ${m}`).join('\n')}\n`);
    worker?.shutdown();
    await running?.catch(() => undefined);
    await env?.teardown();
    await kubelet?.stop();
    await vlagent?.process.stop();
    // The backends were started through the process adapter (pid files), not the harness.
    await Promise.all([primaryProcess?.stop(), secondary?.stop()]);
    await k8s?.stop();
    const left = pids.filter(processAlive);
    tmp.cleanup();
    assert.deepEqual(left, [], 'the control plane is stopped');
  });

  const start = (variant: string, over: Record<string, string> = {}) =>
    env.client.workflow.start('logFailoverWorkflow', {
      taskQueue,
      workflowId: `log-failover-k8s-${variant}-${Date.now()}`,
      args: [logFailover.input(config, { variant, ...over })],
    });

  it('primary-down: the StatefulSet goes to 0, the secondary has the canaries within 30 s, the primary catches up and the StatefulSet is back at 2 ready replicas', async () => {
    await assertBackAt(REPLICAS);
    const before = kubelet.events.length;
    const r = (await (await start('primary-down')).result()) as LogFailoverReport;
    assert.equal(r.outcome, 'succeeded', r.error);
    const preflight = r.steps.find((s) => s.name === 'Check the drill can stop and start the primary log backend');
    assert.match(String(preflight?.detail), /may scale StatefulSet \S+ \(get, scale get\/update, no HPA\)/, 'the permission check ran against the API server');
    const stop = r.steps.find((s) => s.name === 'Stop the primary log backend');
    assert.match(String(stop?.detail), /logs-primary stopped \(kubernetes\)/);
    // The scale really reached the API server and the stand-in acted on it: down, then up.
    assert.deepEqual(kubelet.events.slice(before), [
      { replicas: 0, action: 'stopped' },
      { replicas: REPLICAS, action: 'started' },
    ]);
    const d = r.details;
    assert.ok(d.canaries!.sent >= 15, `sent ${d.canaries!.sent}`);
    assert.ok(d.failoverDelaySeconds! <= 30, `failover delay ${d.failoverDelaySeconds} s`);
    assert.equal(r.slos[0].met, true);
    assert.deepEqual(d.canaries!.primary.missing, []);
    assert.deepEqual(d.canaries!.secondary.missing, []);
    assert.equal(d.canaries!.primary.received, d.canaries!.sent);
    assert.deepEqual(r.compensations.map((c) => c.outcome), ['not needed']);
    await assertBackAt(REPLICAS);
    kubelet.assertHealthy();
    measured.push(
      `kubernetes primary-down: ${d.canaries!.sent} canaries, primary ${d.canaries!.primary.received}, secondary ${d.canaries!.secondary.received}; ` +
        `failover ${d.failoverDelaySeconds} s; catch-up ${d.catchUpSeconds} s; timeline ${d.timeline.map((t) => `${t.seconds}s ${t.event}`).join(' | ')}`,
    );
  });

  it('a cancelled drill scales the StatefulSet back to its 2 replicas and the primary serves again', async () => {
    const handle = await start('primary-down', { outageSeconds: '600' });
    await waitFor(
      'the drill to scale the StatefulSet to 0',
      async () => (await handle.query(statusQuery)).phase === 'outage' && (await statefulSet()).desired === 0 && !(await primaryProcess.status()).running,
      { timeoutMs: 120_000, intervalMs: 250 },
    );
    await handle.cancel();
    await assert.rejects(handle.result(), (err: unknown) => err instanceof WorkflowFailedError && err.cause?.name === 'CancelledFailure');
    await assertBackAt(REPLICAS);
    await waitFor('the stand-in to start the primary again', async () => (await primaryProcess.status()).running, { timeoutMs: 60_000, intervalMs: 250 });
    kubelet.assertHealthy();
  });
});
