import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { bundleWorkflowCode, Worker, type WorkflowBundle } from '@temporalio/worker';
import { DeterminismViolationError } from '@temporalio/workflow';
import { registry } from '../../procedures';
import { FIXTURE_SHAPE, fixtureDataConverter, fixtureFile, fixtureOf, historyFromFixture, HISTORY_DIR } from '../../scripts/record-histories';

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
    const names = fixtures.map((f) => fixtureOf(f).name);
    // The dead man's switch is registered too (kind 'watch').
    for (const n of registry.map((p) => p.name)) {
      assert.ok(names.includes(n), `no recorded history for ${n} in ${HISTORY_DIR}: run \`npx tsx scripts/record-histories.ts ${n}\``);
    }
    for (const n of names) assert.ok(registry.some((p) => p.name === n), `${n} is not a registered procedure`);
  });

  // Both shapes replay, for every registered procedure: runs started before the frame's memo (shape 1) and after it (shape 2).
  for (const { name, kind } of registry) {
    it(`holds ${name} histories from before and after the frame memo, and only the newer one has it`, () => {
      const memoEvents = (file: string) => {
        const events = load(file).events;
        return {
          marker: events.some((e) => {
            const data = e.markerRecordedEventAttributes?.details?.['patch-data']?.payloads?.[0]?.data;
            return e.markerRecordedEventAttributes?.markerName === 'core_patch' && !!data && (JSON.parse(Buffer.from(data).toString()) as { id?: string }).id === 'frame-memo';
          }),
          upserts: events.filter((e) => e.workflowPropertiesModifiedEventAttributes?.upsertedMemo).length,
        };
      };
      assert.ok(fixtures.includes(fixtureFile(name, 1)) && fixtures.includes(fixtureFile(name, FIXTURE_SHAPE)), `${fixtureFile(name, 1)} and ${fixtureFile(name, FIXTURE_SHAPE)} are both kept`);
      assert.deepEqual(memoEvents(fixtureFile(name, 1)), { marker: false, upserts: 0 });
      // A watch (the dead man's switch) is recorded while it runs: only the start's memo is in it.
      const upserts = kind === 'watch' ? 1 : 2;
      assert.deepEqual(memoEvents(fixtureFile(name, FIXTURE_SHAPE)), { marker: true, upserts }, 'procedure and cluster at the start, outcome at the end');
    });
  }

  for (const file of fixtures) {
    it(`replays the recorded ${basename(file, '.json')} history without non-determinism`, async () => {
      // The id it was recorded under (scripts/record-histories.ts): a parent derives its children's ids from it.
      await Worker.runReplayHistory({ workflowBundle: current, dataConverter: fixtureDataConverter() }, load(file), fixtureOf(file).workflowId);
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
