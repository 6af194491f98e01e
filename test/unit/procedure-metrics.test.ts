import assert from 'node:assert/strict';
import { MockActivityEnvironment } from '@temporalio/testing';
import { createProcedureActivities } from '../../activities/procedure';
import { registry } from '../../lib/metrics';
import { loadLastSuccess } from '../../lib/procedure-outcomes';
import { testConfig } from '../harness/config';
import { tempDir } from '../harness/temp';
import { procedureKind } from '../../procedures';

/** One sample of a metric as the worker's /metrics endpoint would serve it (prom-client's registry). */
async function sample(name: string, labels: Record<string, string>): Promise<number | undefined> {
  const metric = (await registry.getMetricsAsJSON()).find((m) => m.name === name);
  assert.ok(metric, `${name} is registered`);
  const values = (metric as unknown as { values: { labels: Record<string, string>; value: number }[] }).values;
  return values.find((v) => Object.entries(labels).every(([k, x]) => v.labels[k] === x))?.value;
}

describe('procedure outcome metrics (recordProcedureOutcome)', () => {
  const tmp = tempDir('procedure-metrics');
  after(() => tmp.cleanup());
  // The registry is process-wide: a procedure name of its own keeps other tests' runs out of these samples.
  const procedure = `metrics-probe-${process.pid}`;

  it('counts a success and a failure per outcome and sets the last-outcome gauge for each', async () => {
    const config = testConfig(tmp.dir);
    const record = (outcome: 'succeeded' | 'failed', at: string) =>
      new MockActivityEnvironment().run(createProcedureActivities(config, procedureKind).recordProcedureOutcome, {
        procedure,
        cluster: 'test',
        outcome,
        at,
        slos: [{ slo: 'probe goal', limitSeconds: 30, measuredSeconds: 12.5, met: true }],
        workflowId: 'wf-metrics-probe',
      });

    await record('succeeded', '2026-11-20T02:00:00.000Z');
    assert.equal(await sample('secdr_procedure_runs_total', { procedure, outcome: 'succeeded' }), 1);
    assert.equal(await sample('secdr_procedure_runs_total', { procedure, outcome: 'failed' }), undefined, 'no failure counted yet');
    assert.equal(await sample('secdr_procedure_last_outcome_timestamp_seconds', { procedure, cluster: 'test', outcome: 'success' }), Date.parse('2026-11-20T02:00:00.000Z') / 1000);
    assert.equal(await sample('secdr_slo_measured_seconds', { procedure, cluster: 'test', slo: 'probe goal' }), 12.5);
    assert.equal(await sample('secdr_drill_last_success_timestamp_seconds', { drill: procedure }), Date.parse('2026-11-20T02:00:00.000Z') / 1000);

    await record('failed', '2026-11-21T03:00:00.000Z');
    assert.equal(await sample('secdr_procedure_runs_total', { procedure, outcome: 'failed' }), 1);
    assert.equal(await sample('secdr_procedure_runs_total', { procedure, outcome: 'succeeded' }), 1, 'the success count is untouched');
    assert.equal(await sample('secdr_procedure_last_outcome_timestamp_seconds', { procedure, cluster: 'test', outcome: 'failure' }), Date.parse('2026-11-21T03:00:00.000Z') / 1000);
    assert.equal(
      await sample('secdr_procedure_last_outcome_timestamp_seconds', { procedure, cluster: 'test', outcome: 'success' }),
      Date.parse('2026-11-20T02:00:00.000Z') / 1000,
      'a failure does not move the last success',
    );
    assert.equal(await sample('secdr_drill_last_success_timestamp_seconds', { drill: procedure }), Date.parse('2026-11-20T02:00:00.000Z') / 1000);

    // Only the success went to the storage, where a restarted worker reads it back.
    const rec = await loadLastSuccess(config.storage, procedure, 'test', (m) => assert.fail(m));
    assert.equal(rec?.at, '2026-11-20T02:00:00.000Z');
  });
});
