import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startOpenBaoCluster, type OpenBaoCluster } from '../../dev-stack/openbao-cluster';
import { startTransitKms, type TransitKms } from '../../dev-stack/openbao-kms';
import { waitFor } from '../../dev-stack/wait';
import { vaultApi } from '../../lib/vault/client';
import { nodeHealth } from '../../lib/vault/health';
import { tempDir } from '../harness/temp';

describe('3-node raft cluster from deploy/vault/production with the transit seal override', function () {
  this.timeout(600_000);
  const tmp = tempDir('raft-transit');
  let kms: TransitKms;
  let cluster: OpenBaoCluster;

  before(async () => {
    kms = await startTransitKms({ dir: join(tmp.dir, 'kms'), nodeId: 'kms-a' });
    cluster = await startOpenBaoCluster({ dir: join(tmp.dir, 'raft'), seal: { type: 'transit', kms: kms.seal } });
  });
  after(async () => {
    await Promise.all([cluster?.stop(), kms?.node.process.stop()]);
    tmp.cleanup();
  });

  it('runs seal-transit.hcl against the KMS, with its token only in the environment, and forms 3 voters', async () => {
    const servers = await cluster.servers();
    assert.equal(servers.filter((s) => s.voter).length, 3);
    const sealFile = cluster.configFiles[0][1];
    const seal = readFileSync(sealFile, 'utf8');
    assert.match(seal, /seal "transit"/);
    assert.match(seal, new RegExp(`address\\s*= "${kms.seal.address}"`));
    assert.ok(!seal.includes(kms.seal.token), 'the seal token is not in the rendered file');
    for (const address of cluster.addresses) {
      const status = await vaultApi(address, { caFile: cluster.caFile }).status();
      assert.equal(status.type, 'transit', `${address} is sealed by the transit KMS`);
      assert.equal(status.sealed, false);
    }
  });

  it('a restarted node unseals itself through the KMS and rejoins as a standby voter', async () => {
    const leader = await cluster.active();
    const node = cluster.nodes.find((n) => n.address !== leader)!;
    await node.process.stop();
    assert.equal((await nodeHealth(node.address, cluster.caFile)).state, 'unreachable');
    node.process.start();
    await waitFor(`${node.nodeId} unsealed again`, async () => (await nodeHealth(node.address, cluster.caFile)).state === 'standby', { timeoutMs: 120_000, intervalMs: 500 });
    const servers = await cluster.servers();
    assert.ok(servers.find((s) => s.node_id === node.nodeId)?.voter, `${node.nodeId} is a voter again`);
  });
});
