import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Client, Connection, type WorkflowHandle } from '@temporalio/client';
import { startOpenBaoPkiCa, startTlsEndpoint, type LocalCa, type TlsEndpoint } from '../../dev-stack/pki';
import { startTemporalDevServer, type TemporalDevServer } from '../../dev-stack/temporal';
import { platformFor } from '../../lib/platform';
import { verifyChain } from '../../lib/pki/chain';
import { readBundle } from '../../lib/pki/pem';
import { probeTls } from '../../lib/pki/tls-probe';
import { dataConverterFor } from '../../lib/temporal/connect';
import { caOutage } from '../../procedures/ca-outage';
import { caOutageWorkflow } from '../../workflows/ca-outage';
import { testConfig } from '../harness/config';
import { vaultRestore } from '../../procedures/vault-restore';
import { vaultSnapshot } from '../../procedures/vault-snapshot';
import { vaultRestoreWorkflow, vaultSnapshotWorkflow } from '../../workflows';
import type { SnapshotResult } from '../../workflows/vault-snapshot';
import { nodeHealth } from '../../lib/vault/health';
import { targetNamed } from '../../lib/config/lookup';
import { assertEndedCleanly, assertTargetOutOfService, atStep, inEpilogue, midStream, midStreamWhen, runAndKill, WorkerPool, type CrashRun, type KillPoint } from '../harness/crash';
import { MOTO_ENV, startDrStack, type DrStack } from '../../dev-stack/dr-stack';
import { tempDir } from '../harness/temp';
import { filesUnder } from '../harness/worker-process';

const SNAPSHOT_STEPS = ['find active node', 'write canary', 'stream, verify and upload snapshot', 'retention in s3', 'clean local staging'];

/**
 * Kill points, by runbook step name. A killed host's activity is retried only when its timeout
 * notices: quick steps 30 s (start-to-close), streaming steps 60 s (heartbeat), the snapshot's
 * retention and staging clean-up 3 min (the `retention` profile's start-to-close: no heartbeat),
 * the force-restore 2 min (heartbeat, one attempt: the restore then fails cleanly), plus 30 s for
 * the undo that removes a downloaded copy on the dead host (host queue schedule-to-start).
 * Each run also waits for its replacement host to start (bundling the workflows: ~1 min on
 * this loaded machine). Polling the status query is not instant, so a kill aimed at a quick
 * step can land in the next one; every run logs the step and activity it actually hit.
 */
const snapshotPoints: { point: KillPoint; slow?: string; timeoutMs?: number }[] = [
  { point: atStep('find active node') },
  { point: atStep('write canary') },
  { point: atStep('stream, verify and upload snapshot'), slow: 'waits the 1-min heartbeat timeout' },
  { point: midStream('takeSnapshot'), slow: 'waits the 1-min heartbeat timeout' },
  { point: atStep('retention in s3'), slow: 'up to the 3-min start-to-close', timeoutMs: 420_000 },
  { point: atStep('clean local staging'), slow: 'up to the 3-min start-to-close', timeoutMs: 420_000 },
  { point: inEpilogue('clean local staging'), slow: 'up to the 1-min start-to-close' },
];

/** Which restore target each restore run writes to (the force-restore kill point asks it). */
const targetOfRun = new Map<string, string>();
let drStack: DrStack | undefined;

/**
 * The force-restore's upload is under way once its target, initialised by it, answers active:
 * the activity then streams the snapshot and heartbeats while Vault applies it.
 */
const forceRestoreUploading = midStreamWhen('restoreSnapshot', 'upload', async (handle) => {
  const target = targetNamed(drStack!.config, targetOfRun.get(handle.workflowId)!);
  return (await nodeHealth(target.address, target.caFile, 2000)).state === 'active';
});

const restorePoints: { point: KillPoint; slow?: string; timeoutMs?: number }[][] = [
  [
    { point: atStep('list verified snapshots') },
    { point: atStep('init target and force-restore'), slow: 'waits the 2-min heartbeat timeout, then fails cleanly' },
    // The epilogue now seals the target (retireTarget, `targetLifecycle`: no heartbeat, 5-min start-to-close).
    { point: inEpilogue('dynamic database credential logs in'), slow: 'up to the 1-min start-to-close, 5 min if the kill cuts the sealing', timeoutMs: 480_000 },
  ],
  [
    { point: atStep('download and verify'), slow: 'waits the 1-min heartbeat timeout' },
    { point: atStep('wait until unsealed and active'), slow: 'plus 30 s for the dead host’s undo' },
    { point: atStep('dynamic database credential logs in'), slow: 'up to 1 min, plus 30 s for the dead host’s undo' },
  ],
  [
    { point: midStream('downloadSnapshot'), slow: 'waits the 1-min heartbeat timeout' },
    { point: atStep('read canary with verifier'), slow: 'up to 1 min, plus 30 s for the dead host’s undo' },
  ],
  [
    // `targetLifecycle` has no heartbeat: a host killed inside the step stalls the restore for its 5-min start-to-close.
    { point: atStep('bring the target back into service'), slow: 'up to the 5-min start-to-close', timeoutMs: 480_000 },
    { point: forceRestoreUploading, slow: 'waits the 2-min heartbeat timeout, then fails cleanly' },
  ],
];
/** The activity a mid-stream kill must cut. */
const STREAMED_BY: Record<string, string> = { [midStream('downloadSnapshot').label]: 'downloadSnapshot', [forceRestoreUploading.label]: 'restoreSnapshot' };

describe('crash at every step: the worker host is SIGKILLed at each step in turn and a new host with empty staging takes over', function () {
  this.timeout(900_000);
  const tmp = tempDir('crash');
  let stack: DrStack;
  // One lane per worker pool and task queue: the lanes run at once, the runs in a lane one after another.
  const pools: WorkerPool[] = [];
  const runs = new Map<string, Promise<CrashRun>>();
  let reference: SnapshotResult;

  const lane = (name: string) => {
    const taskQueue = `crash-${name}-${randomUUID()}`;
    // keepLast 6: the snapshot lane's retention (real deletes from its 7th snapshot on) never removes a snapshot a
    // restore lane chose minutes before; a restore stalled 5 min by a kill in a no-heartbeat step lost it with the default 3.
    const config = { ...stack.raw, temporal: { taskQueue }, retention: { keepLast: 6 } };
    const pool = new WorkerPool({ dir: tmp.dir, prefix: name, config, temporalAddress: stack.temporal.address, env: MOTO_ENV });
    pools.push(pool);
    return { pool, taskQueue };
  };

  const startSnapshot = (taskQueue: string) => () =>
    stack.client.workflow.start(vaultSnapshotWorkflow, { taskQueue, workflowId: `crash-snapshot-${randomUUID()}`, args: [vaultSnapshot.input(stack.config, { cluster: 'src' })] });
  const startRestore = (taskQueue: string) => () => {
    const workflowId = `crash-restore-${randomUUID()}`;
    const target = stack.nextTarget();
    targetOfRun.set(workflowId, target);
    return stack.client.workflow.start(vaultRestoreWorkflow, {
      taskQueue,
      workflowId,
      args: [{ ...vaultRestore.input(stack.config, { cluster: 'src', target }), pollSeconds: 1 }],
    });
  };

  /** Runs a lane's kill points one after another; each test awaits its own. */
  const schedule = (l: ReturnType<typeof lane>, kind: string, points: { point: KillPoint; timeoutMs?: number }[], start: () => Promise<WorkflowHandle>) => {
    let previous: Promise<unknown> = Promise.resolve();
    for (const { point, timeoutMs = 300_000 } of points) {
      const run = previous.catch(() => undefined).then(() => runAndKill({ client: stack.client, pool: l.pool, start, point, workers: 1, timeoutMs }));
      run.catch(() => undefined);
      runs.set(`${kind}: ${point.label}`, run);
      previous = run;
    }
  };

  before(async () => {
    // 24 MiB of barrier-encrypted secrets: the snapshot and download streams last long enough to be cut.
    stack = drStack = await startDrStack({ dir: tmp.dir, targets: restorePoints.flat().length, taskQueue: `crash-${randomUUID()}`, fillMiB: 24 });
    const snapshotLane = lane('snapshot');
    await snapshotLane.pool.ready(1);
    // A run without a kill: the reference step list, and the snapshot every restore below uses.
    reference = (await (await startSnapshot(snapshotLane.taskQueue)()).result()) as SnapshotResult;
    schedule(snapshotLane, 'snapshot', snapshotPoints, startSnapshot(snapshotLane.taskQueue));
    restorePoints.forEach((points, i) => {
      const l = lane(`restore${i + 1}`);
      schedule(l, 'restore', points, startRestore(l.taskQueue));
    });
  });

  after(async () => {
    await Promise.allSettled(pools.map((p) => p.stopAll()));
    await stack?.stop();
    tmp.cleanup();
  });

  it('a snapshot without a kill runs the runbook steps in order (the reference the kill points count)', () => {
    assert.equal(reference.outcome, 'succeeded', reference.error);
    assert.deepEqual(reference.steps.map((s) => s.name), SNAPSHOT_STEPS);
    assert.ok(reference.bytes > 20 * 2 ** 20, `snapshot of ${reference.bytes} bytes: big enough to be cut mid-stream`);
  });

  for (const { point, slow } of snapshotPoints) {
    it(`snapshot, killed when ${point.label}: completes on the new host${slow ? ` (slow: ${slow})` : ''}`, async () => {
      const run = await runs.get(`snapshot: ${point.label}`)!;
      await assertEndedCleanly(run, 'succeeded');
      // A snapshot has no undo and nothing a retry cannot redo: every kill must end in success.
      assert.equal(run.outcome, 'succeeded', `${run.error}; killed ${run.killed.join(', ')}`);
      assert.deepEqual(run.report.steps.map((s) => s.name), SNAPSHOT_STEPS);
      if (point.label.includes('middle')) assert.equal(run.cutActivity, 'takeSnapshot', 'the kill cut the stream');
      console.log(`      hit step "${run.hitStep ?? '-'}", killed ${run.killed.join(', ')}${run.cutActivity ? ` during ${run.cutActivity}` : ''}; ended ${run.recoverySeconds} s later`);
    });
  }

  for (const { point, slow } of restorePoints.flat()) {
    it(`restore, killed when ${point.label}: verified on the new host, or fails cleanly only if the one-attempt force-restore was cut; the target ends sealed${slow ? ` (slow: ${slow})` : ''}`, async () => {
      const run = await runs.get(`restore: ${point.label}`)!;
      await assertEndedCleanly(run, 'verified');
      const failedStep = run.report.steps.find((s) => s.outcome === 'failed')?.name;
      if (run.outcome === 'failed') {
        // One attempt by design (destructive): a cut force-restore is a failed restore that says so.
        assert.equal(run.cutActivity, 'restoreSnapshot', `only a cut force-restore may fail the restore: ${run.error}`);
        assert.equal(failedStep, 'init target and force-restore');
        assert.match(run.error!, /restore of src into dr-\d+ failed: .*(timed out|timeout)/i);
      } else {
        assert.equal(run.outcome, 'verified');
      }
      if (STREAMED_BY[point.label]) assert.equal(run.cutActivity, STREAMED_BY[point.label], 'the kill cut the stream');
      const target = await assertTargetOutOfService(run, stack.config);
      console.log(`      ${run.outcome}; hit step "${run.hitStep ?? '-'}", killed ${run.killed.join(', ')}${run.cutActivity ? ` during ${run.cutActivity}` : ''}; ended ${run.recoverySeconds} s later; target ${target}`);
    });
  }

  it('leaves the replacement hosts’ staging empty and no worker process running', async () => {
    const live = pools.flatMap((p) => p.live);
    for (const w of live) assert.deepEqual(filesUnder(w.stagingDir), [], `staging of replacement host ${w.name}`);
    const groups = pools.flatMap((p) => p.started.map((w) => w.pgid));
    await Promise.all(pools.map((p) => p.stopAll()));
    pools[0].assertNoneRunning(groups);
  });
});

const CA_STEPS = [
  'Record the certificates in use',
  'Check the drill can stop and start the CA',
  'Make the CA unavailable',
  'Check existing certificates still serve and verify',
  'Attempt a renewal while the CA is down',
  'Keep the CA down for 3 s',
  'Bring the CA back',
  'Renew a certificate',
  'Install the renewed certificate on web',
  'Check every endpoint chains to the root',
];

/**
 * The CA-outage drill's kill points: every step once, and the epilogue, in two lanes (each its own
 * CA, endpoint and task queue) so they run at once. A standby host polls before each run, so a
 * kill costs the activity's timeout, not a host start: quick steps 30 s, platform and install steps
 * 30 s (heartbeat). The two renewal probes are one attempt by design (their typed outcome is the
 * point): a host killed in one fails the drill after the probe's 1-minute start-to-close, cleanly,
 * with the CA brought back.
 */
const caLanes: KillPoint[][] = [
  [
    atStep('Record the certificates in use'),
    atStep('Make the CA unavailable'),
    atStep('Attempt a renewal while the CA is down'),
    atStep('Bring the CA back'),
    atStep('Install the renewed certificate on web'),
    inEpilogue('Check every endpoint chains to the root'),
  ],
  [
    atStep('Check the drill can stop and start the CA'),
    atStep('Check existing certificates still serve and verify'),
    atStep('Keep the CA down'),
    atStep('Renew a certificate'),
    atStep('Check every endpoint chains to the root'),
  ],
];
const PROBE_STEPS = ['Attempt a renewal while the CA is down', 'Renew a certificate'];

interface CaLane {
  ca: LocalCa;
  web: TlsEndpoint;
  trustStore: string;
  pool: WorkerPool;
}

/** The CA and its endpoint right after a run, before the lane's next run may stop the CA again. */
async function caStateAfter(lane: CaLane) {
  const running = (await platformFor(lane.ca.component).status()).running;
  const issues = await lane.ca.issue(['localhost'], '1h').then(
    (c) => /BEGIN CERTIFICATE/.test(c.chainPem),
    (err: unknown) => `does not issue: ${(err as Error).message}`,
  );
  const served = await probeTls(lane.web.address, undefined, 3000);
  const chains = served.ok && verifyChain(served.chain, readBundle(lane.trustStore, 'trust store'), new Date()).ok;
  return { running, issues, serves: served.ok, chains };
}

describe('crash at every step of the CA-outage drill: the worker host is SIGKILLed at each step in turn, a new host with empty staging finishes or fails cleanly, and the CA is back and issues', function () {
  this.timeout(900_000);
  const tmp = tempDir('crash-ca');
  let temporal: TemporalDevServer;
  let client: Client;
  const lanes: CaLane[] = [];
  const runs = new Map<string, Promise<CrashRun & { after: Awaited<ReturnType<typeof caStateAfter>> }>>();
  const codecKey = join(tmp.dir, 'shared-codec.key');

  before(async () => {
    writeFileSync(codecKey, randomBytes(32).toString('base64'), { mode: 0o600 });
    temporal = await startTemporalDevServer({ dir: join(tmp.dir, 'temporal') });
    for (const [n, points] of caLanes.entries()) {
      const dir = join(tmp.dir, `lane${n + 1}`);
      mkdirSync(dir, { recursive: true });
      const ca = await startOpenBaoPkiCa(join(dir, 'ca'), `ca${n + 1}`);
      const web = await startTlsEndpoint({ name: 'web', dir: join(dir, 'endpoints'), ...(await ca.issue(['localhost', '127.0.0.1'], '2h')) });
      const trustStore = join(dir, 'trust.pem');
      writeFileSync(trustStore, await ca.rootPem());
      const raw = {
        temporal: { taskQueue: `crash-ca${n + 1}-${randomUUID()}` },
        codec: { keyId: 'crash-ca', key: { file: codecKey } },
        clusters: [{ name: 'test', nodes: ['http://127.0.0.1:1'], auth: { method: 'token', token: { env: 'SECDR_TEST_UNUSED' } } }],
        storage: [{ name: 'local', type: 'local', dir: join(dir, 'store') }],
        components: [ca.component],
        reportsDir: join(dir, 'reports'),
        caOutage: {
          ca: ca.caConfig,
          endpoints: [{ name: 'web', address: web.address, renewal: { certFile: web.certFile, keyFile: web.keyFile, names: ['localhost', '127.0.0.1'], reloadUrl: web.reloadUrl } }],
          trustStores: [trustStore],
          outageWindowSeconds: 3600,
          renewalMarginSeconds: 3600,
          renewalSloSeconds: 60,
          requestTimeoutSeconds: 3,
          holdSeconds: 3,
        },
      };
      const config = testConfig(dir, raw);
      client ??= new Client({ connection: await Connection.connect({ address: temporal.address }), dataConverter: dataConverterFor(config) });
      const pool = new WorkerPool({ dir, prefix: `ca${n + 1}`, config: raw, temporalAddress: temporal.address });
      const start = () =>
        client.workflow.start(caOutageWorkflow, { taskQueue: config.temporal.taskQueue, workflowId: `crash-ca-outage-${randomUUID()}`, args: [caOutage.input(config, {})] });
      const lane: CaLane = { ca, web, trustStore, pool };
      lanes.push(lane);
      let previous: Promise<unknown> = Promise.resolve();
      for (const point of points) {
        const run = previous
          .catch(() => undefined)
          .then(async () => {
            const r = await runAndKill({ client, pool, start, point, workers: 2, timeoutMs: 300_000 });
            return { ...r, after: await caStateAfter(lane) };
          });
        run.catch(() => undefined);
        runs.set(`lane ${n + 1}: ${point.label}`, run);
        previous = run;
      }
    }
  });

  after(async () => {
    await Promise.allSettled(lanes.map((l) => l.pool.stopAll()));
    await Promise.all(lanes.map((l) => l.web.close()));
    await Promise.all(lanes.map((l) => l.ca.stop()));
    await client?.connection.close().catch(() => undefined);
    await temporal?.process.stop();
    tmp.cleanup();
  });

  for (const [n, points] of caLanes.entries()) {
    for (const point of points) {
      const slow = PROBE_STEPS.some((s) => point.label.includes(s)) ? ' (slow: the one-attempt probe times out after 1 min)' : '';
      it(`lane ${n + 1}, killed when ${point.label}: succeeds on the new host, or fails cleanly only if a one-attempt renewal probe was cut; the CA is back and issues${slow}`, async () => {
        const run = await runs.get(`lane ${n + 1}: ${point.label}`)!;
        await assertEndedCleanly(run, 'succeeded');
        const failedStep = run.report.steps.find((s) => s.outcome === 'failed')?.name;
        if (run.outcome === 'failed') {
          assert.ok(failedStep && PROBE_STEPS.includes(failedStep), `only a cut renewal probe may fail the drill, not "${failedStep}": ${run.error}`);
          assert.match(run.error!, /attemptRenewal: .*timeout/i);
        } else {
          assert.deepEqual(run.report.steps.map((s) => s.name), CA_STEPS);
        }
        // Whatever the outcome, right after the run: the CA runs and issues, and the endpoint serves a chain to the trust store's root.
        assert.deepEqual(run.after, { running: true, issues: true, serves: true, chains: true }, `after ${run.outcome} (${run.error ?? 'no error'})`);
        console.log(`      ${run.outcome}; hit step "${run.hitStep ?? '-'}", killed ${run.killed.join(', ')}${run.cutActivity ? ` during ${run.cutActivity}` : ''}; ended ${run.recoverySeconds} s later`);
      });
    }
  }

  it('leaves the replacement hosts’ staging empty and no worker process running', async () => {
    const pools = lanes.map((l) => l.pool);
    for (const w of pools.flatMap((p) => p.live)) assert.deepEqual(filesUnder(w.stagingDir), [], `staging of replacement host ${w.name}`);
    const groups = pools.flatMap((p) => p.started.map((w) => w.pgid));
    await Promise.all(pools.map((p) => p.stopAll()));
    pools[0].assertNoneRunning(groups);
  });
});
