import assert from 'node:assert/strict';
import { createHash, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { WorkflowFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { drillLastSuccess } from '../../lib/metrics';
import { listEvidence, loadEvidence } from '../../lib/reports/evidence';
import { Worker } from '@temporalio/worker';
import { createActivities } from '../../activities';
import { dataConverterFor } from '../../lib/temporal/connect';
import type { QuarterlyDrillInput, QuarterlyDrillReport } from '../../workflows/quarterly-drill';
import { approveSignal } from '../../workflows/quarterly-drill';
import { timeSkippingSuite } from '../harness/time-skipping-suite';
import { procedureKind } from '../../procedures';

const DRILLS = ['vault-restore', 'log-failover', 'ca-outage', 'alerting'];

describe('quarterlyDrillWorkflow (time-skipping; drills are stand-ins in the real frame, evidence in a real local store)', function () {
  this.timeout(120_000);
  const suite = timeSkippingSuite('wf-quarterly', (dir) => ({ reportsDir: join(dir, 'reports') }));
  const failing = new Set<string>();
  const actions: string[] = [];
  const undos: string[] = [];

  const input = (over: Partial<QuarterlyDrillInput> = {}): QuarterlyDrillInput => ({
    drills: DRILLS.map((name, i) => ({ name, workflowType: 'fakeDrillWorkflow', input: { drill: name, takesSeconds: 5 + i } })),
    ...over,
  });

  async function run(over: Partial<QuarterlyDrillInput> = {}, during?: (id: string) => Promise<void>): Promise<{ id: string; report: QuarterlyDrillReport; error?: ApplicationFailure }> {
    const taskQueue = `quarterly-${randomUUID()}`;
    // The real activities (frame epilogue, evidence) plus the stand-in drill's two; the workflows
    // module holds the real parent and the stand-in drill.
    const worker = await Worker.create({
      connection: suite.env.nativeConnection,
      namespace: suite.env.namespace ?? 'default',
      taskQueue,
      workflowsPath: require.resolve('./fixtures/quarterly-workflows'),
      dataConverter: dataConverterFor(suite.config),
      activities: {
        ...createActivities(suite.config, procedureKind),
        async fakeDrillAction({ drill }: { drill: string }) {
          actions.push(drill);
          if (failing.has(drill)) throw ApplicationFailure.create({ type: 'VerificationFailed', message: `${drill}: the secondary never showed the canary`, nonRetryable: true });
          return `${drill} ok`;
        },
        async fakeDrillUndo({ drill }: { drill: string }) {
          undos.push(drill);
        },
      },
    });
    const id = `quarterly-drill-${randomUUID()}`;
    return worker.runUntil(async () => {
      const handle = await suite.env.client.workflow.start('quarterlyDrillWorkflow', { taskQueue, workflowId: id, args: [input(over)] });
      await during?.(id);
      try {
        return { id, report: (await handle.result()) as QuarterlyDrillReport };
      } catch (err) {
        assert.ok(err instanceof WorkflowFailedError, String(err));
        const failure = err.cause as ApplicationFailure;
        return { id, report: failure.details![0] as QuarterlyDrillReport, error: failure.cause as ApplicationFailure };
      }
    });
  }

  beforeEach(() => {
    failing.clear();
    actions.length = 0;
    undos.length = 0;
  });

  it('runs every drill in order, stores one merged report with its SHA-256 beside the snapshots, and sets the quarterly freshness gauge', async () => {
    const { id, report, error } = await run();
    assert.equal(error, undefined);
    assert.equal(report.outcome, 'succeeded');
    assert.deepEqual(actions, DRILLS);
    assert.deepEqual(report.drills.map((x) => [x.drill, x.outcome]), DRILLS.map((x) => [x, 'succeeded']));
    assert.deepEqual(undos.sort(), [...DRILLS].sort(), "each drill's undo runs (compensateOnSuccess)");

    const stored = await loadEvidence(suite.config.storage, id);
    assert.ok(stored, 'catalogued in the storage');
    assert.equal(stored.report.outcome, 'succeeded');
    assert.ok(stored.report.steps.some((s) => s.name === 'log-failover: Check the failover'), 'child steps are merged under the drill name');
    assert.deepEqual(stored.report.slos.map((s) => s.slo), DRILLS.map((x) => `${x}: goal reached`));
    const html = readFileSync(report.localFiles!.html, 'utf8');
    assert.match(html, /log-failover: Stop the component/);
    assert.equal(createHash('sha256').update(readFileSync(join(suite.config.storage[0].type === 'local' ? suite.config.storage[0].dir : '', 'secdr-records', stored.entry.files.html.path))).digest('hex'), stored.entry.files.html.sha256);
    const junit = readFileSync(report.localFiles!.junit, 'utf8');
    assert.equal(junit.match(/<testsuite /g)?.length, 4);
    assert.doesNotMatch(junit, /<failure/);
    const gauge = (await drillLastSuccess.get()).values.find((v) => v.labels.drill === 'quarterly');
    assert.ok(gauge && gauge.value > 0);
  });

  it('runs the other drills when one fails, reports it in the merged report and JUnit, and fails the run', async () => {
    failing.add('log-failover');
    const { id, report, error } = await run();
    assert.equal(error?.type, 'DrillsFailed');
    assert.deepEqual(actions, DRILLS, 'the drills after the failed one still ran');
    assert.ok(undos.includes('log-failover'), "the failed drill's undo ran");
    assert.deepEqual(report.drills.map((x) => x.outcome), ['succeeded', 'failed', 'succeeded', 'succeeded']);
    const stored = (await loadEvidence(suite.config.storage, id))!.report;
    assert.equal(stored.outcome, 'failed');
    assert.ok(stored.findings.some((f) => /^log-failover: step "Check the failover" failed: log-failover: the secondary never showed the canary/.test(f)), stored.findings.join('\n'));
    assert.ok(stored.comparison, 'compared with the previous quarterly run');
    assert.match(readFileSync(report.localFiles!.junit, 'utf8'), /name="Check the failover"[^>]*>\s*<failure message="log-failover: the secondary never showed the canary"/);
  });

  it('re-runs only the failed drill and merges it with the passed ones', async () => {
    failing.add('ca-outage');
    const first = await run();
    assert.equal(first.error?.type, 'DrillsFailed');
    failing.clear();
    actions.length = 0;
    const again = await run({ rerunOf: first.id });
    assert.equal(again.error, undefined, again.report.error);
    assert.deepEqual(actions, ['ca-outage'], 'only the failed drill ran again');
    assert.deepEqual(
      again.report.drills.map((x) => [x.drill, x.outcome, x.reusedFrom]),
      [
        ['vault-restore', 'succeeded', first.id],
        ['log-failover', 'succeeded', first.id],
        ['ca-outage', 'succeeded', undefined],
        ['alerting', 'succeeded', first.id],
      ],
    );
    const merged = (await loadEvidence(suite.config.storage, again.id))!.report;
    assert.equal(merged.steps.filter((s) => / Check the failover$/.test(s.name)).length, 4, 'the merged report has every drill');
    assert.equal((merged.details as { rerunOf?: string }).rerunOf, first.id);
  });

  it('stops after the first failure when configured, marking the rest not run', async () => {
    failing.add('vault-restore');
    const { report } = await run({ stopOnFailure: true });
    assert.deepEqual(actions, ['vault-restore']);
    assert.deepEqual(report.drills.map((x) => x.outcome), ['failed', 'not run', 'not run', 'not run']);
  });

  it('when cancelled, cancels the running drill and waits for its undo before ending', async () => {
    const { report } = await run({}, async (id) => {
      const h = suite.env.client.workflow.getHandle(id);
      // vault-restore takes 5 s of workflow time, log-failover 6 s: cancel inside log-failover.
      await suite.env.sleep(8_000);
      await h.cancel();
    }).catch((err: unknown) => ({ report: undefined, err }));
    assert.equal(report, undefined, 'a cancelled run ends cancelled, not with a result');
    assert.deepEqual(actions, ['vault-restore'], 'no drill after the cancel');
    assert.ok(undos.includes('log-failover'), `the running drill put its component back (undos: ${undos.join(', ')})`);
  });

  it('waits for approval and records who approved and when', async () => {
    const { report, error } = await run({ approval: { timeoutSeconds: 3600 } }, async (id) => {
      const h = suite.env.client.workflow.getHandle(id);
      await suite.env.sleep(60_000);
      assert.deepEqual(actions, [], 'nothing runs before approval');
      await h.signal(approveSignal, { by: 'alice' });
    });
    assert.equal(error, undefined);
    assert.equal(report.approval?.by, 'alice');
    assert.ok(Date.parse(report.approval!.at) - Date.parse(report.startedAt) >= 60_000, 'approved after the wait');
    assert.equal(report.steps[0].name, 'Wait for approval');
  });

  it('ends as not run when nobody approves in time, with nothing stopped', async () => {
    const { id, report, error } = await run({ approval: { timeoutSeconds: 86_400 } });
    assert.equal(error?.type, 'ApprovalTimedOut');
    assert.deepEqual(actions, []);
    assert.deepEqual(report.drills.map((x) => x.outcome), ['not run', 'not run', 'not run', 'not run']);
    const stored = (await loadEvidence(suite.config.storage, id))!.report;
    assert.match(stored.findings[0], /not run: nobody approved the drill within 86400 s/);
    assert.ok((await listEvidence(suite.config.storage)).some((e) => e.workflowId === id && e.outcome === 'failed'));
  });
});
