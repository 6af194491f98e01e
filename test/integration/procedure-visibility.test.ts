import assert from 'node:assert/strict';
import { join } from 'node:path';
import type { WorkflowExecutionInfo } from '@temporalio/client';
import type { SecdrConfig } from '../../lib/config/schema';
import { waitFor } from '../../dev-stack/wait';
import { restoreConfig, startRestoreServers, startRestoreWorker, type RestoreRig, type RestoreServers } from '../harness/restore-worker';
import { tempDir } from '../harness/temp';

describe('procedure runs are findable by search attributes and carry a memo (real Temporal dev server, OpenBao)', function () {
  this.timeout(300_000);
  const tmp = tempDir('procedure-visibility');
  let servers: RestoreServers;
  let config: SecdrConfig;
  let rig: RestoreRig;

  before(async () => {
    servers = await startRestoreServers(tmp.dir, []);
    config = restoreConfig(tmp.dir, servers, 'visibility', { storage: [{ name: 'local', type: 'local', dir: join(tmp.dir, 'store') }] });
    rig = await startRestoreWorker(servers.temporal.address, config);
  });

  after(async () => {
    await rig?.close();
    await servers?.stop();
    tmp.cleanup();
  });

  async function list(query: string): Promise<WorkflowExecutionInfo[]> {
    const found: WorkflowExecutionInfo[] = [];
    for await (const wf of rig.client.workflow.list({ query })) found.push(wf);
    return found;
  }

  it('lists a finished snapshot by SecdrProcedure, SecdrCluster and SecdrOutcome, and reads procedure, cluster and outcome from its memo', async () => {
    const result = await rig.snapshot();
    const query = `SecdrProcedure = 'vault-snapshot' AND SecdrCluster = 'src' AND SecdrOutcome = 'succeeded' AND TaskQueue = '${config.temporal.taskQueue}'`;
    // Visibility is eventually consistent: wait until the run is indexed with its final outcome.
    let runs: WorkflowExecutionInfo[] = [];
    await waitFor('the snapshot run in the visibility store', async () => (runs = await list(query)).length > 0, { timeoutMs: 30_000, intervalMs: 250 });
    assert.equal(runs.length, 1, `one run matches ${query}`);
    const run = runs[0];
    assert.equal(run.status.name, 'COMPLETED');
    assert.equal(run.workflowId, result.workflowId);
    // The listing decodes the memo through the client's codec: no describe, no query, no worker needed.
    assert.deepEqual(run.memo, { procedure: 'vault-snapshot', cluster: 'src', outcome: 'succeeded' });
    assert.deepEqual(run.searchAttributes.SecdrProcedure, ['vault-snapshot']);

    // The filter really filters: nothing failed, and nothing ran for another cluster.
    assert.deepEqual(await list(`SecdrProcedure = 'vault-snapshot' AND SecdrOutcome = 'failed' AND TaskQueue = '${config.temporal.taskQueue}'`), []);
    assert.deepEqual(await list(`SecdrCluster = 'elsewhere' AND TaskQueue = '${config.temporal.taskQueue}'`), []);
  });
});
