import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { ApplicationFailure } from '@temporalio/common';
import { WorkflowFailedError } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { AlertInput } from '../../activities/alertmanager';
import type { RestoreReport } from '../../lib/reports/restore';
import type { SealStatus } from '../../activities/vault';
import { FailureType } from '../../lib/failure-types';
import type { SnapshotMeta } from '../../lib/storage/snapshot-store';
import { createWorker } from '../../workers/worker';
import { vaultRestoreWorkflow } from '../../workflows';
import { timeSkippingSuite } from '../harness/time-skipping-suite';
import { restoreStatusQuery, type RestoreInput, type RestoreStatus } from '../../workflows/vault-restore';

const meta = (key: string, nonce: string): SnapshotMeta => ({
  key,
  cluster: 'test',
  sha256: 'ab'.repeat(32),
  bytes: 100,
  raftIndex: 10,
  raftTerm: 2,
  takenAt: '2026-11-26T02:00:00.000Z',
  verifiedAt: '2026-11-26T02:00:05.000Z',
  canaryNonce: nonce,
  canaryWrittenAt: '2026-11-26T01:59:59.000Z',
  storage: 'local',
});

const input = (over: Partial<RestoreInput> = {}): RestoreInput => ({
  cluster: 'test',
  target: 'dr',
  storage: 'local',
  snapshot: 'latest',
  slo: { secretsReadableSeconds: 300, wholeRestoreSeconds: 900, hardLimitSeconds: 3600 },
  fallbackAttempts: 2,
  checkDatabase: true,
  pollSeconds: 5,
  ...over,
});

/** Stubbed external systems: the workflow logic under test is real. */
function stubs(opts: { corrupt?: string[]; sealedPolls?: number; threshold?: number } = {}) {
  const calls = {
    alerts: [] as AlertInput[],
    restored: [] as string[],
    reports: [] as RestoreReport[],
    statusPolls: 0,
    discarded: [] as string[],
    broughtBack: 0,
    retired: 0,
  };
  const activities = {
    async listSnapshots(): Promise<SnapshotMeta[]> {
      return [
        meta('vault-test-20261126-020000.snap', 'n3'),
        meta('vault-test-20261125-020000.snap', 'n2'),
        meta('vault-test-20261124-020000.snap', 'n1'),
      ];
    },
    async downloadSnapshot(i: { key: string }) {
      if (opts.corrupt?.includes(i.key)) {
        throw ApplicationFailure.create({
          type: FailureType.SnapshotCorrupt,
          nonRetryable: true,
          message: `snapshot ${i.key}: SHA256SUMS mismatch for state.bin`,
        });
      }
      return { file: `/staging/${i.key}`, bytes: 100, raftIndex: 10 };
    },
    async restoreSnapshot(i: { candidates: { key: string }[] }) {
      calls.restored.push(i.candidates[0].key);
      return { used: i.candidates[0].key, rejected: [] };
    },
    async targetStatus(): Promise<SealStatus> {
      calls.statusPolls++;
      const sealed = calls.statusPolls <= (opts.sealedPolls ?? 0);
      return {
        state: sealed ? 'sealed' : 'active',
        initialized: true,
        sealed,
        progress: sealed ? 1 : 0,
        threshold: opts.threshold ?? 3,
      };
    },
    async verifyCanary() {
      const key = calls.restored.at(-1)!;
      return {
        nonce: key.includes('20261126') ? 'n3' : key.includes('20261125') ? 'n2' : 'n1',
        writtenAt: '2026-11-26T01:59:59.000Z',
      };
    },
    async verifyDatabaseCredentials() {
      return { role: 'readonly', loggedInAs: 'v-approle-readonly-x', leaseRevoked: true };
    },
    async postAlert(a: AlertInput) {
      calls.alerts.push(a);
      return true;
    },
    async writeProcedureReport(r: RestoreReport) {
      calls.reports.push(r);
      return { json: '/r.json', markdown: '/r.md' };
    },
    async recordProcedureOutcome() {},
    async bringTargetBack() {
      calls.broughtBack++;
      return 'already uninitialized';
    },
    async retireTarget() {
      calls.retired++;
      return { after: 'seal' as const, detail: 'sealed' };
    },
    async discardStagedFile(i: { file: string }) {
      calls.discarded.push(i.file);
      return { removed: i.file };
    },
  };
  return { activities, calls };
}

describe('vaultRestoreWorkflow (time-skipping, stubbed activities)', function () {
  const suite = timeSkippingSuite('wf-restore');
  const { config } = suite;

  async function run(
    activities: object,
    wfInput: RestoreInput,
    during?: (h: Awaited<ReturnType<TestWorkflowEnvironment['client']['workflow']['start']>>) => Promise<void>,
  ) {
    const env = suite.env;
    const taskQueue = `restore-${randomUUID()}`;
    const worker = await createWorker({
      config,
      connection: env.nativeConnection,
      namespace: 'default',
      taskQueue,
      activities,
    });
    return worker.runUntil(async () => {
      const handle = await env.client.workflow.start(vaultRestoreWorkflow, {
        taskQueue,
        workflowId: randomUUID(),
        args: [wfInput],
      });
      await during?.(handle);
      return (await handle.result()) as RestoreReport;
    });
  }

  it('restores the newest verified snapshot and meets both SLOs', async () => {
    const { activities, calls } = stubs();
    const report = await run(activities, input());
    assert.equal(report.outcome, 'verified');
    assert.equal(report.snapshot, 'vault-test-20261126-020000.snap');
    assert.deepEqual(calls.restored, ['vault-test-20261126-020000.snap']);
    assert.deepEqual(
      report.slos.map((s) => s.met),
      [true, true],
    );
    assert.equal(calls.alerts.length, 0);
    assert.equal(calls.reports.length, 1, 'the report is written once');
    assert.deepEqual(calls.discarded, ['/staging/vault-test-20261126-020000.snap'], 'the downloaded copy is removed after the run');
    assert.equal(report.checks.length, 2);
  });

  it('falls back to the previous snapshot when the newest fails verification, and says why', async () => {
    const { activities, calls } = stubs({ corrupt: ['vault-test-20261126-020000.snap'] });
    const report = await run(activities, input());
    assert.equal(report.snapshot, 'vault-test-20261125-020000.snap');
    assert.deepEqual(calls.restored, ['vault-test-20261125-020000.snap']);
    assert.equal(report.skipped.length, 1);
    assert.match(report.skipped[0].reason, /SHA256SUMS mismatch for state\.bin/);
  });

  it('fails with the reasons when every candidate is corrupt, without touching the target', async () => {
    const { activities, calls } = stubs({
      corrupt: [
        'vault-test-20261126-020000.snap',
        'vault-test-20261125-020000.snap',
        'vault-test-20261124-020000.snap',
      ],
    });
    await assert.rejects(run(activities, input()), (err: WorkflowFailedError) => {
      assert.match(err.cause?.message ?? '', /none of the 3 newest snapshots verified/);
      return true;
    });
    assert.deepEqual(calls.restored, [], 'restore never ran');
    assert.equal(calls.reports.length, 1, 'a failed restore still writes its report');
    assert.equal(calls.reports[0].skipped.length, 3);
  });

  it('records a secrets-readable SLO breach when its timer fires, alerts once, and keeps going to success', async () => {
    // Sealed for 100 polls of 5 s = 500 s of workflow time: the 300 s SLO must breach at 300 s.
    const { activities, calls } = stubs({ sealedPolls: 100 });
    const report = await run(activities, input({ checkDatabase: false }));
    assert.equal(report.outcome, 'verified');
    const readable = report.slos.find((s) => s.slo === 'secrets readable')!;
    assert.equal(readable.met, false);
    assert.ok(
      readable.breachedAtSeconds! >= 300 && readable.breachedAtSeconds! < 302,
      `breached at ${readable.breachedAtSeconds}`,
    );
    assert.ok(readable.measuredSeconds! >= 500, `measured ${readable.measuredSeconds}`);
    assert.equal(report.slos.find((s) => s.slo === 'whole restore')!.met, true);
    assert.equal(calls.alerts.length, 1);
    assert.equal(calls.alerts[0].labels.slo, 'secrets readable');
  });

  it('waits visibly while a Shamir target is sealed, showing the share count', async () => {
    const { activities } = stubs({ sealedPolls: 20, threshold: 3 });
    let seen: RestoreStatus | undefined;
    const report = await run(activities, input({ checkDatabase: false }), async (handle) => {
      for (let i = 0; i < 200 && !seen?.phase.startsWith('sealed'); i++) {
        seen = await handle.query(restoreStatusQuery);
        if (!seen.phase.startsWith('sealed')) await suite.env.sleep(1000);
      }
    });
    assert.equal(seen?.phase, 'sealed, waiting for unseal: 1 of 3 key shares');
    assert.deepEqual(seen?.unseal, { progress: 1, threshold: 3 });
    // The person on call reads what they must do from the status query: the target and the shares still needed.
    assert.match(seen?.pendingHumanAction ?? '', /^unseal dr: 2 more key share\(s\) with `secdr unseal/);
    assert.equal(report.outcome, 'verified');
  });

  it('refuses a named snapshot that is not in the catalog', async () => {
    const { activities, calls } = stubs();
    await assert.rejects(
      run(activities, input({ snapshot: 'vault-test-19990101-000000.snap' })),
      (err: WorkflowFailedError) => {
        assert.match(err.cause?.message ?? '', /not in the catalog/);
        return true;
      },
    );
    assert.deepEqual(calls.restored, []);
  });

  it('puts the target out of service even when the restore fails, after bringing it back first', async () => {
    const { activities, calls } = stubs();
    const failing = {
      ...activities,
      async restoreSnapshot(): Promise<never> {
        throw ApplicationFailure.create({ type: FailureType.RestoreRejected, nonRetryable: true, message: 'Vault answered 400' });
      },
    };
    await assert.rejects(run(failing, input()), (err: WorkflowFailedError) => /Vault answered 400/.test(err.cause?.message ?? ''));
    assert.equal(calls.broughtBack, 1);
    assert.equal(calls.retired, 1, 'the seal/stop compensation ran on failure');
    const report = calls.reports.at(-1)!;
    assert.deepEqual(
      report.compensations.map((c) => [c.name, c.outcome, c.detail]).find(([n]) => n === 'put dr out of service'),
      ['put dr out of service', 'done', 'sealed'],
    );
  });
});
