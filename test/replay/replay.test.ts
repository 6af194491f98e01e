import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { bundleWorkflowCode, Worker, type WorkflowBundle } from '@temporalio/worker';
import { DeterminismViolationError } from '@temporalio/workflow';
import { registry } from '../../procedures';
import { fixtureDataConverter, historyFromFixture, HISTORY_DIR } from '../../scripts/record-histories';

const fixtures = existsSync(HISTORY_DIR) ? readdirSync(HISTORY_DIR).filter((f) => f.endsWith('.json')).sort() : [];
const load = (file: string) => historyFromFixture(readFileSync(join(HISTORY_DIR, file), 'utf8'));

/**
 * Replays every recorded history (test/fixtures/histories, recorded from real runs on the dev
 * server by scripts/record-histories.ts) against the current workflow code, as a running
 * workflow would be replayed after a deploy: a non-deterministic change fails here first.
 */
describe('replay of recorded procedure histories against the current workflows', function () {
  this.timeout(300_000);
  let current: WorkflowBundle;

  before(async () => {
    current = await bundleWorkflowCode({ workflowsPath: require.resolve('../../workflows'), logger: quietLogger });
  });

  it('has a recorded history for every registered procedure and the dead man\'s switch', () => {
    const names = fixtures.map((f) => basename(f, '.json'));
    for (const n of [...registry.map((p) => p.name), 'dead-mans-switch']) {
      assert.ok(names.includes(n), `no recorded history for ${n} in ${HISTORY_DIR}: run \`npx tsx scripts/record-histories.ts ${n}\``);
    }
    for (const n of names) assert.ok(n === 'dead-mans-switch' || registry.some((p) => p.name === n), `${n}.json is not a registered procedure`);
  });

  for (const file of fixtures) {
    it(`replays the recorded ${basename(file, '.json')} history without non-determinism`, async () => {
      // The id it was recorded under (scripts/record-histories.ts): a parent derives its children's ids from it.
      await Worker.runReplayHistory({ workflowBundle: current, dataConverter: fixtureDataConverter() }, load(file), `record-${basename(file, '.json')}`);
    });
  }

  it('fails with a DeterminismViolationError when a workflow reorders its steps (the replay can fail)', async () => {
    assert.ok(fixtures.includes('vault-snapshot.json'), 'needs the recorded vault-snapshot history');
    const changed = await bundleWorkflowCode({ workflowsPath: require.resolve('./changed-workflows'), logger: quietLogger });
    await assert.rejects(
      Worker.runReplayHistory({ workflowBundle: changed, dataConverter: fixtureDataConverter() }, load('vault-snapshot.json'), 'replay-changed'),
      (err: unknown) => {
        assert.ok(err instanceof DeterminismViolationError, `expected DeterminismViolationError, got ${String(err)}`);
        return true;
      },
    );
  });
});

/** The bundler's progress lines are noise here; warnings and errors still show. */
const quietLogger = {
  log: () => undefined,
  trace: () => undefined,
  debug: () => undefined,
  info: () => undefined,
  warn: (m: string) => console.warn(m),
  error: (m: string) => console.error(m),
};
