import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { WorkflowFailedError } from '@temporalio/client';
import type { SecdrConfig } from '../../lib/config/schema';
import type { OpenBaoNode } from '../../dev-stack/openbao';
import { componentByName, platformFor } from '../../lib/platform';
import type { RestoreReport } from '../../lib/reports/restore';
import { nodeHealth } from '../../lib/vault/health';
import { autoTarget, processComponent, restoreConfig, startRestoreServers, startRestoreWorker, type RestoreRig, type RestoreServers } from '../harness/restore-worker';
import { tempDir } from '../harness/temp';


describe('restore targets configured `after: stop` and `after: keep` (real OpenBao, Temporal, process adapter)', function () {
  this.timeout(400_000);
  const tmp = tempDir('after-modes');
  let servers: RestoreServers;
  let kept: OpenBaoNode;
  let stopAddress: string;
  let config: SecdrConfig;
  let rig: RestoreRig;
  const drVault = () => platformFor(componentByName(config, 'dr-vault'));

  before(async () => {
    servers = await startRestoreServers(tmp.dir, ['dr-stop', 'dr-keep']);
    const dr = servers.nodes['dr-stop'];
    kept = servers.nodes['dr-keep'];
    // The stop target runs under the process platform adapter (as a systemd unit or a StatefulSet
    // would in production): the harness's copy only wrote its config; the adapter owns the process.
    stopAddress = dr.address;
    await dr.process.stop();
    config = restoreConfig(tmp.dir, servers, 'after-modes', {
      storage: [{ name: 'local', type: 'local', dir: join(tmp.dir, 'store') }],
      components: [processComponent(servers, tmp.dir, 'dr-vault', 'dr-stop', stopAddress)],
      restore: {
        targets: [autoTarget(servers, 'dr-stop', stopAddress, { after: 'stop', component: 'dr-vault' }), autoTarget(servers, 'dr-keep', kept.address, { after: 'keep' })],
      },
    });
    assert.equal((await drVault().start()).running, true, 'the fresh DR target is up before the first run');
    rig = await startRestoreWorker(servers.temporal.address, config);
  });

  after(async () => {
    await rig?.close();
    if (config) await drVault().stop().catch((e: Error) => console.error(`stopping dr-vault: ${e.message}`));
    await servers?.stop();
    tmp.cleanup();
  });

  const snapshot = () => rig.snapshot();
  const restore = (target: string, over: object = {}) => rig.restore(target, { over });
  const retired = (r: RestoreReport) => r.compensations.find((c) => c.name === `put ${r.target} out of service`);

  it('after: stop stops a fresh target when the first run fails before restoring into it', async () => {
    const bad = await snapshot();
    const file = join(tmp.dir, 'store', 'src', bad.key);
    assert.ok(existsSync(file), `the local copy is at ${file}`);
    const bytes = readFileSync(file);
    bytes[Math.floor(bytes.length / 2)] ^= 0xff;
    writeFileSync(file, bytes);
    await assert.rejects(restore('dr-stop', { snapshot: bad.key, fallbackAttempts: 0 }), (err: WorkflowFailedError) => {
      assert.match(String(err.cause?.message), /none of the 1 newest snapshots verified/);
      return true;
    });
    assert.equal((await drVault().status()).running, false, 'stopped by the compensation, uninitialised');
    assert.equal((await nodeHealth(stopAddress)).state, 'unreachable');
  });

  it('after: stop stops the target through the process adapter; the next weekly run starts it first and restores the newer snapshot', async () => {
    const week1 = await snapshot();
    const first = await restore('dr-stop');
    assert.equal(first.outcome, 'verified', first.error);
    assert.equal(first.checks[0].detail, week1.canaryNonce);
    assert.equal(first.steps.find((s) => s.name === 'bring the target back into service')?.detail, 'started dr-vault: uninitialized', 'the fresh target stopped by the failed run is started, not waited on to become active');
    assert.equal(retired(first)?.outcome, 'done');
    assert.match(retired(first)?.detail ?? '', /^stopped dr-vault \(process\)/);
    assert.equal((await drVault().status()).running, false, 'no live copy of production after week 1: the process is gone');
    assert.equal((await nodeHealth(stopAddress)).state, 'unreachable');

    const week2 = await snapshot();
    assert.notEqual(week2.canaryNonce, week1.canaryNonce);
    const second = await restore('dr-stop');
    assert.equal(second.outcome, 'verified', second.error);
    assert.equal(second.steps.find((s) => s.name === 'bring the target back into service')?.detail, 'started dr-vault', 'started before anything touched it');
    assert.equal(second.checks[0].detail, week2.canaryNonce, 'the second run restored the newer snapshot');
    assert.match(retired(second)?.detail ?? '', /^stopped dr-vault \(process\)/);
    assert.equal((await drVault().status()).running, false, 'no live copy of production after week 2');
  });

  it('after: stop also stops the target when the restore fails after bringing it back', async () => {
    await snapshot();
    // dr-stop has no database section: asking for the database check fails the run after the canary read.
    await assert.rejects(restore('dr-stop', { checkDatabase: true }), (err: WorkflowFailedError) => {
      assert.match(String(err.cause?.message), /target dr-stop has no `database` section/);
      return true;
    });
    assert.equal((await drVault().status()).running, false, 'stopped by the compensation of the failed run');
    assert.equal((await nodeHealth(stopAddress)).state, 'unreachable');
  });

  it('after: keep leaves the target unsealed and serving, and the report carries the warning', async () => {
    const week = await snapshot();
    const report = await restore('dr-keep');
    assert.equal(report.outcome, 'verified', report.error);
    assert.equal(report.checks[0].detail, week.canaryNonce);
    assert.equal(retired(report)?.outcome, 'done');
    assert.equal(retired(report)?.detail, 'kept in service (after: keep)');
    const warning = 'target dr-keep keeps serving a live copy of production (restore.targets[].after: keep)';
    assert.ok(report.findings.includes(warning), report.findings.join('\n'));
    assert.ok(report.reportFiles && existsSync(report.reportFiles.markdown), 'the Markdown report was written');
    assert.ok(readFileSync(report.reportFiles.markdown, 'utf8').includes(warning), 'the Markdown report shows the warning');
    const health = await nodeHealth(kept.address);
    assert.equal(health.state, 'active', 'still unsealed and serving');
  });
});
