import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { StorageConfig } from '../../../lib/config/schema';
import { applyEvidenceRetention, listEvidence, loadEvidence, storeEvidence } from '../../../lib/reports/evidence';
import { tempDir } from '../../harness/temp';
import { sampleDrillReport } from '../../fixtures/sample-reports';

describe('drill evidence in the snapshot storage (real local store)', () => {
  let tmp: ReturnType<typeof tempDir>;
  let storages: StorageConfig[];
  const recordsDir = () => join(tmp.dir, 'a', 'secdr-records');
  beforeEach(() => {
    tmp = tempDir('evidence');
    storages = [
      { name: 'a', type: 'local', dir: join(tmp.dir, 'a') },
      { name: 'b', type: 'local', dir: join(tmp.dir, 'b') },
    ];
  });
  afterEach(() => tmp.cleanup());

  const run = (day: number, outcome: 'succeeded' | 'failed' = 'succeeded') =>
    sampleDrillReport({ workflowId: `quarterly-drill-2026-11-${String(day).padStart(2, '0')}T030000Z`, startedAt: `2026-11-${String(day).padStart(2, '0')}T03:00:00.000Z`, finishedAt: `2026-11-${String(day).padStart(2, '0')}T03:03:10.000Z`, outcome, comparison: undefined });

  it('writes every format to every storage, catalogued with SHA-256s that match the files, and compares with the previous run', async () => {
    await storeEvidence(storages, run(1), [run(1)]);
    const { entry, report } = await storeEvidence(storages, run(2, 'failed'), [run(2)]);
    assert.deepEqual(entry.storages, ['a', 'b']);
    assert.equal(report.comparison?.previousWorkflowId, 'quarterly-drill-2026-11-01T030000Z');
    for (const dir of ['a', 'b']) {
      const html = readFileSync(join(tmp.dir, dir, 'secdr-records', entry.files.html.path));
      assert.equal(createHash('sha256').update(html).digest('hex'), entry.files.html.sha256);
    }
    assert.deepEqual((await listEvidence(storages)).map((e) => [e.workflowId, e.outcome]), [
      ['quarterly-drill-2026-11-02T030000Z', 'failed'],
      ['quarterly-drill-2026-11-01T030000Z', 'succeeded'],
    ]);
  });

  it('refuses evidence whose report changed after it was catalogued', async () => {
    const { entry } = await storeEvidence(storages.slice(0, 1), run(3), [run(3)]);
    const file = join(recordsDir(), entry.files.json.path);
    writeFileSync(file, readFileSync(file, 'utf8').replace('"failed"', '"succeeded"'));
    await assert.rejects(loadEvidence(storages.slice(0, 1), entry.workflowId), /report\.json has SHA-256 [0-9a-f]{64}, the catalog recorded [0-9a-f]{64}: it changed after the drill wrote it/);
  });

  it('applies the snapshot retention rules to drill runs and never deletes the newest', async () => {
    for (const day of [1, 2, 3, 4]) await storeEvidence(storages.slice(0, 1), run(day), [run(day)]);
    const result = await applyEvidenceRetention(storages.slice(0, 1), { keepLast: 2, daily: 0, weekly: 0, monthly: 0 }, new Date('2026-11-20T00:00:00Z'));
    assert.deepEqual(result, [{ storage: 'a', deleted: ['quarterly-drill-2026-11-02T030000Z', 'quarterly-drill-2026-11-01T030000Z'] }]);
    assert.deepEqual((await listEvidence(storages)).map((e) => e.workflowId), ['quarterly-drill-2026-11-04T030000Z', 'quarterly-drill-2026-11-03T030000Z']);
    assert.equal(existsSync(join(recordsDir(), 'drills', 'quarterly-drill-2026-11-01t030000z', 'report.html')), false, 'the files went with the catalog entry');
    // keepLast 0 still keeps the newest (retention counts it as at least 1).
    await applyEvidenceRetention(storages.slice(0, 1), { keepLast: 0 as never, daily: 0, weekly: 0, monthly: 0 }, new Date('2026-11-20T00:00:00Z'));
    assert.deepEqual((await listEvidence(storages)).map((e) => e.workflowId), ['quarterly-drill-2026-11-04T030000Z']);
  });
});
