import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { startTemporalDevServer, type TemporalDevServer } from '../../dev-stack/temporal';
import { victoriaLogsComponent, victoriaLogsPipeline, victoriaLogsSpec, type VictoriaLogsSpec } from '../../dev-stack/victorialogs';
import { startVlagent, type Vlagent } from '../../dev-stack/vlagent';
import { httpAnswers } from '../../dev-stack/wait';
import { platformFor } from '../../lib/platform';
import type { ComponentConfig } from '../../lib/config/components';
import { dataConverterFor } from '../../lib/temporal/connect';
import { logFailover } from '../../procedures/log-failover';
import { logFailoverWorkflow } from '../../workflows';
import type { LogFailoverDetails } from '../../workflows/log-failover';
import { assertEndedCleanly, atStep, inEpilogue, runAndKill, WorkerPool, type CrashRun, type KillPoint } from '../harness/crash';
import { testConfig } from '../harness/config';
import { tempDir } from '../harness/temp';
import { filesUnder } from '../harness/worker-process';

/** Seconds the primary stays down: short, so each run (and the whole file) stays within a few minutes. */
const WINDOW = 12;

/** The primary-down drill's steps, as workflows/log-failover.ts logs them (the runbook's words). */
const STEPS = [
  'Check the secondary log backend is healthy',
  'Check the primary log backend is healthy',
  'Check the drill can stop and start the primary log backend',
  'Check the drill can stop and start the secondary log backend',
  'Send a steady-state canary and see it in both backends',
  'Stop the primary log backend',
  `Send numbered canaries for ${WINDOW} s`,
  'Restart the primary log backend',
  'Confirm the primary log backend is ready',
  'Wait for every outage canary in the primary',
  'Count the outage canaries in the secondary',
];
/**
 * Runs only when the window ended before the secondary showed an outage canary: a kill during the
 * window can cost the in-flight query its 30 s timeout. Not a kill point of its own (it does not
 * run in an undisturbed drill); allowed in a completed run's step list.
 */
const LATE_FAILOVER_STEP = 'Wait for the first outage canary in the secondary';

/**
 * Every step once and the epilogue, in two lanes (each its own VictoriaLogs ×2, vlagent, canary
 * file and task queue) so they run at once; the runs of a lane one after another. A standby host
 * polls before each run, so a kill costs the activity's timeout (quick steps 30 s start-to-close,
 * the platform stop/start 30 s heartbeat), not a host start. A status poll is not instant: a kill
 * aimed at a quick step may land in the next one; each run logs the step it hit.
 */
const lanes: KillPoint[][] = [
  [
    atStep('Check the secondary log backend is healthy'),
    atStep('Check the drill can stop and start the primary log backend'),
    atStep('Send a steady-state canary and see it in both backends'),
    atStep('Send numbered canaries for'),
    atStep('Confirm the primary log backend is ready'),
    atStep('Count the outage canaries in the secondary'),
    inEpilogue('Count the outage canaries in the secondary'),
  ],
  [
    atStep('Check the primary log backend is healthy'),
    atStep('Check the drill can stop and start the secondary log backend'),
    atStep('Stop the primary log backend'),
    atStep('Restart the primary log backend'),
    atStep('Wait for every outage canary in the primary'),
  ],
];

interface Lane {
  primary: VictoriaLogsSpec;
  secondary: VictoriaLogsSpec;
  components: ComponentConfig[];
  vlagent: Vlagent;
  pool: WorkerPool;
}

/** Both backends right after a run, before the lane's next run may stop the primary again. */
async function backendsAfter(lane: Lane) {
  const [primary, secondary] = lane.components.map((c) => platformFor(c));
  return {
    primaryRunning: (await primary.status()).running,
    primaryReady: await httpAnswers(`${lane.primary.url}/health`).catch(() => false),
    secondaryRunning: (await secondary.status()).running,
  };
}

describe('crash at every step of the log-failover drill: the worker host is SIGKILLed at each step in turn, a new host finishes or fails cleanly, and the primary VictoriaLogs is back and ready', function () {
  this.timeout(900_000);
  const tmp = tempDir('crash-logs');
  let temporal: TemporalDevServer;
  let client: Client;
  const started: Lane[] = [];
  const runs = new Map<string, Promise<CrashRun & { after: Awaited<ReturnType<typeof backendsAfter>> }>>();
  const codecKey = join(tmp.dir, 'shared-codec.key');

  before(async () => {
    writeFileSync(codecKey, randomBytes(32).toString('base64'), { mode: 0o600 });
    temporal = await startTemporalDevServer({ dir: join(tmp.dir, 'temporal') });
    for (const [n, points] of lanes.entries()) {
      const dir = join(tmp.dir, `lane${n + 1}`);
      mkdirSync(dir, { recursive: true });
      const [primary, secondary] = await Promise.all([victoriaLogsSpec(dir, 'logs-primary'), victoriaLogsSpec(dir, 'logs-secondary')]);
      const components = [victoriaLogsComponent(primary), victoriaLogsComponent(secondary)];
      // Started through the platform adapter (pid files), as the drill's workers stop and start them.
      await Promise.all(components.map((c) => platformFor(c).start()));
      const canaryFile = join(dir, 'canary.log');
      const vlagent = await startVlagent({ dir, tailFile: canaryFile, backends: [primary.url, secondary.url] });
      const raw = {
        temporal: { taskQueue: `crash-logs${n + 1}-${randomUUID()}` },
        codec: { keyId: 'crash-logs', key: { file: codecKey } },
        clusters: [{ name: 'test', nodes: ['http://127.0.0.1:1'], auth: { method: 'token', token: { env: 'SECDR_TEST_UNUSED' } } }],
        storage: [{ name: 'local', type: 'local', dir: join(dir, 'store') }],
        components,
        reportsDir: join(dir, 'reports'),
        // Catch-up limit: room for a killed host's 30 s activity timeout inside the wait.
        logPipeline: victoriaLogsPipeline(primary, secondary, canaryFile, { outageWindowSeconds: WINDOW, catchUpLimitSeconds: 90 }),
      };
      const config = testConfig(dir, raw);
      client ??= new Client({ connection: await Connection.connect({ address: temporal.address }), dataConverter: dataConverterFor(config) });
      const pool = new WorkerPool({ dir, prefix: `logs${n + 1}`, config: raw, temporalAddress: temporal.address });
      const lane: Lane = { primary, secondary, components, vlagent, pool };
      started.push(lane);
      const start = () =>
        client.workflow.start(logFailoverWorkflow, {
          taskQueue: config.temporal.taskQueue,
          workflowId: `crash-log-failover-${randomUUID()}`,
          args: [logFailover.input(config, { variant: 'primary-down' })],
        });
      let previous: Promise<unknown> = Promise.resolve();
      for (const point of points) {
        const run = previous
          .catch(() => undefined)
          .then(async () => {
            const r = await runAndKill({ client, pool, start, point, workers: 2, timeoutMs: 300_000 });
            return { ...r, after: await backendsAfter(lane) };
          });
        run.catch(() => undefined);
        runs.set(`lane ${n + 1}: ${point.label}`, run);
        previous = run;
      }
    }
  });

  after(async () => {
    await Promise.allSettled(started.map((l) => l.pool.stopAll()));
    await Promise.all(started.map((l) => l.vlagent.process.stop()));
    // The backends run under the platform adapter (pid files), not the harness's supervisor.
    await Promise.all(started.flatMap((l) => l.components.map((c) => platformFor(c).stop())));
    await client?.connection.close().catch(() => undefined);
    await temporal?.process.stop();
    tmp.cleanup();
  });

  for (const [n, points] of lanes.entries()) {
    for (const point of points) {
      it(`lane ${n + 1}, killed when ${point.label}: completes with every canary in both backends or fails cleanly; the primary is running and ready`, async () => {
        const run = await runs.get(`lane ${n + 1}: ${point.label}`)!;
        await assertEndedCleanly(run, 'succeeded');
        // Whatever the outcome, right after the run: both backends run and the primary answers /health.
        assert.deepEqual(run.after, { primaryRunning: true, primaryReady: true, secondaryRunning: true }, `after ${run.outcome} (${run.error ?? 'no error'})`);
        const d = run.report.details as unknown as LogFailoverDetails;
        if (run.outcome === 'succeeded') {
          assert.deepEqual(run.report.steps.map((s) => s.name).filter((s) => s !== LATE_FAILOVER_STEP), STEPS);
          assert.ok(d.canaries && d.canaries.sent > 0, `canaries: ${JSON.stringify(d.canaries)}`);
          assert.deepEqual(d.canaries.primary, { received: d.canaries.sent, missing: [] });
          assert.deepEqual(d.canaries.secondary, { received: d.canaries.sent, missing: [] });
        }
        const slo = run.report.slos.find((s) => s.slo === 'first outage canary in the secondary');
        console.log(
          `      ${run.outcome}; hit step "${run.hitStep ?? '-'}", killed ${run.killed.join(', ')}${run.cutActivity ? ` during ${run.cutActivity}` : ''}; ended ${run.recoverySeconds} s later` +
            `${d.canaries ? `; ${d.canaries.sent} canaries, none missing` : ''}${slo ? `; failover ${slo.met ? `${d.failoverDelaySeconds} s` : 'SLO breached'}` : ''}`,
        );
      });
    }
  }

  it('leaves the replacement hosts’ staging empty and no worker process running', async () => {
    const pools = started.map((l) => l.pool);
    for (const w of pools.flatMap((p) => p.live)) assert.deepEqual(filesUnder(w.stagingDir), [], `staging of replacement host ${w.name}`);
    const groups = pools.flatMap((p) => p.started.map((w) => w.pgid));
    await Promise.all(pools.map((p) => p.stopAll()));
    pools[0].assertNoneRunning(groups);
  });
});
