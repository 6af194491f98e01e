import assert from 'node:assert/strict';
import { join } from 'node:path';
import type { WorkflowFailedError } from '@temporalio/client';
import type { SecdrConfig } from '../../lib/config/schema';
import { startOpenBao, type OpenBaoNode } from '../../dev-stack/openbao';
import { initNode } from '../../dev-stack/openbao-setup';
import { componentByName, platformFor } from '../../lib/platform';
import { nodeHealth } from '../../lib/vault/health';
import { vaultApi } from '../../lib/vault/client';
import { vaultRestore } from '../../procedures/vault-restore';
import { vaultRestoreWorkflow } from '../../workflows';
import { restoreStatusQuery } from '../../workflows/vault-restore';
import { waitFor } from '../../dev-stack/wait';
import { randomUUID } from 'node:crypto';
import { autoTarget, processComponent, restoreConfig, startRestoreServers, startRestoreWorker, type RestoreRig, type RestoreServers } from '../harness/restore-worker';
import { tempDir } from '../harness/temp';

describe('weekly test restore repeats into the same target and leaves it out of service (real OpenBao, Temporal, process adapter)', function () {
  this.timeout(300_000);
  const tmp = tempDir('weekly-restore');
  let servers: RestoreServers;
  let stranger: OpenBaoNode;
  let sealedByOthers: OpenBaoNode;
  let drAddress: string;
  let config: SecdrConfig;
  let rig: RestoreRig;

  before(async () => {
    servers = await startRestoreServers(tmp.dir, ['dr', 'stranger']);
    const dr = servers.nodes.dr;
    stranger = servers.nodes.stranger;
    // Shamir: an auto-unseal node sealed through the API unseals itself again within seconds, a Shamir one stays sealed.
    sealedByOthers = await startOpenBao({ dir: join(tmp.dir, 'openbao-shamir'), nodeId: 'sealed' });
    // The DR target runs under the process platform adapter (as a systemd unit or a StatefulSet
    // would in production): stop the harness's copy and let the adapter own the same config and data.
    drAddress = dr.address;
    await dr.process.stop();
    await initNode(stranger.address, 'auto'); // initialised by someone else
    // Initialised and sealed by someone else: its unseal keys are theirs, not secdr's.
    const { rootToken: othersRoot } = await initNode(sealedByOthers.address, 'shamir');
    await vaultApi(sealedByOthers.address, { token: othersRoot }).write('sys/seal', {});
    config = restoreConfig(tmp.dir, servers, 'weekly', {
      storage: [{ name: 'local', type: 'local', dir: join(tmp.dir, 'store') }],
      components: [processComponent(servers, tmp.dir, 'dr-vault', 'dr', drAddress)],
      restore: { targets: [autoTarget(servers, 'dr', drAddress, { component: 'dr-vault' }), autoTarget(servers, 'stranger', stranger.address), autoTarget(servers, 'sealed', sealedByOthers.address, { seal: 'shamir', shamir: { shares: 1, threshold: 1 } })], testTarget: 'dr' },
    });
    rig = await startRestoreWorker(servers.temporal.address, config);
  });

  after(async () => {
    await rig?.close();
    if (config) await platformFor(componentByName(config, 'dr-vault')).stop().catch((e: Error) => console.error(`stopping dr-vault: ${e.message}`));
    await sealedByOthers?.process.stop();
    await servers?.stop();
    tmp.cleanup();
  });

  const snapshot = () => rig.snapshot();
  const restore = (target: string) => rig.restore(target, { storage: 'local' });

  it('restores twice into the same target with the canary changed in between: both verify, the second has the newer nonce, sealed after each', async () => {
    const week1 = await snapshot();
    const first = await restore('dr');
    assert.equal(first.outcome, 'verified', first.error);
    assert.equal(first.checks[0].detail, week1.canaryNonce);
    assert.deepEqual(first.compensations.find((c) => c.name === 'put dr out of service'), { ...first.compensations.find((c) => c.name === 'put dr out of service')!, outcome: 'done', detail: 'sealed' });
    assert.equal((await nodeHealth(drAddress)).state, 'sealed', 'no live copy of production after week 1');

    const week2 = await snapshot(); // writes a new canary nonce before the snapshot
    assert.notEqual(week2.canaryNonce, week1.canaryNonce);
    const second = await restore('dr');
    assert.equal(second.outcome, 'verified', second.error);
    assert.equal(second.checks[0].detail, week2.canaryNonce, 'the second restore reports the newer nonce');
    assert.match(second.steps.find((s) => s.name === 'bring the target back into service')?.detail ?? '', /restarted dr-vault: auto-unsealed/);
    assert.equal((await nodeHealth(drAddress)).state, 'sealed', 'no live copy of production after week 2');
  });

  it('refuses a target initialised by someone else, saying what to do, and leaves it as it was', async () => {
    await assert.rejects(restore('stranger'), (err: WorkflowFailedError) => {
      const text = JSON.stringify(err.cause?.message) + JSON.stringify((err.cause as { cause?: Error })?.cause?.message ?? '');
      assert.match(text, /already initialised; secdr restores only into a fresh cluster or over an earlier restore of the same source, and the restorer AppRole from the source's data does not log in/);
      assert.match(text, /Wipe its raft data/);
      assert.doesNotMatch(text, /left changed/, 'a target holding no restore of this source is not sealed, and that is no failure');
      return true;
    });
    assert.equal((await nodeHealth(stranger.address)).state, 'active', 'not sealed: it is not secdr\'s to put out of service');
  });

  it('refuses a target sealed with keys secdr does not have, saying what to do, and leaves it sealed and initialised', async () => {
    await assert.rejects(restore('sealed'), (err: WorkflowFailedError) => {
      const text = JSON.stringify(err.cause?.message) + JSON.stringify((err.cause as { cause?: Error })?.cause?.message ?? '');
      assert.match(text, /target sealed .* is already initialised/);
      assert.match(text, /sealed with keys secdr does not have; unseal it by hand, or set restore\.targets\[\]\.component so the next run can restart an auto-unseal target/);
      assert.doesNotMatch(text, /left changed/, 'nothing to put back: it was already out of service');
      return true;
    });
    const after = await nodeHealth(sealedByOthers.address);
    assert.equal(after.state, 'sealed', 'still sealed');
    assert.equal(after.initialized, true, 'still initialised: nothing was restored over it');
  });

  it('a restore cancelled after the force-restore step leaves the target sealed', async () => {
    await snapshot();
    const handle = await rig.client.workflow.start(vaultRestoreWorkflow, {
      taskQueue: config.temporal.taskQueue,
      workflowId: `restore-dr-cancel-${randomUUID()}`,
      args: [{ ...vaultRestore.input(config, { cluster: 'src', target: 'dr', storage: 'local' }), pollSeconds: 1 }],
    });
    // Cancel as soon as the force-restore is done: the restored copy of production is up (or applying) and not yet verified.
    await waitFor(
      'the force-restore step to finish',
      async () => (await handle.query(restoreStatusQuery)).steps.some((st) => st.name === 'init target and force-restore' && st.outcome === 'ok'),
      { timeoutMs: 120_000, intervalMs: 100 },
    );
    const atCancel = await nodeHealth(drAddress);
    await handle.cancel();
    await assert.rejects(handle.result(), (err: WorkflowFailedError) => {
      assert.equal(err.cause?.name, 'CancelledFailure', String(err.cause));
      return true;
    });
    assert.notEqual(atCancel.state, 'sealed', `the target was in service when cancelled (${atCancel.state})`);
    assert.equal((await nodeHealth(drAddress)).state, 'sealed', 'the cancelled run put the target out of service');
  });
});
