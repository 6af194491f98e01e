import assert from 'node:assert/strict';
import { join } from 'node:path';
import { MockActivityEnvironment } from '@temporalio/testing';
import { sealUntilItHolds } from '../../activities/vault';
import { startOpenBao, writeStaticSealKey, type OpenBaoNode } from '../../dev-stack/openbao';
import { initNode } from '../../dev-stack/openbao-setup';
import { vaultApi } from '../../lib/vault/client';
import { nodeHealth } from '../../lib/vault/health';
import { tempDir } from '../harness/temp';

// after: seal on an auto-unseal target. A freshly started auto-unseal server retries its
// stored-key unseal every 5 s until one attempt finds it unsealed; a sys/seal inside that window
// can be undone by the server itself. The retire step must not report "sealed" for a seal that
// does not hold, which is what these tests check on a real OpenBao with the static seal.
describe('sealing an auto-unseal restore target (real OpenBao, static seal)', function () {
  this.timeout(120_000);
  const tmp = tempDir('seal-holds');
  const nodes: OpenBaoNode[] = [];
  after(async () => {
    await Promise.all(nodes.map((n) => n.process.stop()));
    tmp.cleanup();
  });

  it('seals a target right after its init and it is still sealed well past the server’s own unseal retry', async () => {
    const key = writeStaticSealKey(join(tmp.dir, 'static.key'));
    const node = await startOpenBao({ dir: tmp.dir, nodeId: 'target-0', staticSealKeyFile: key });
    nodes.push(node);
    const { rootToken } = await initNode(node.address, 'auto');
    const target = { name: 'dr-fresh', address: node.address };
    let seals = 0;
    const attempt = await new MockActivityEnvironment().run(() =>
      sealUntilItHolds(target, async () => {
        seals++;
        await vaultApi(node.address, { token: rootToken }).write('sys/seal', {});
      }),
    );
    assert.equal(attempt, seals, 'returns the attempt on which the seal held');
    // Longer than the server's 5 s retry: a seal the server undid would show here.
    await new Promise((resolve) => setTimeout(resolve, 8_000));
    assert.equal((await nodeHealth(node.address)).state, 'sealed', `still sealed 8 s after the seal that held (attempt ${attempt})`);
  });

  it('fails naming the target and the fix when the node never stays sealed', async () => {
    const key = writeStaticSealKey(join(tmp.dir, 'static-2.key'));
    const node = await startOpenBao({ dir: join(tmp.dir, 'b'), nodeId: 'target-1', staticSealKeyFile: key });
    nodes.push(node);
    await initNode(node.address, 'auto');
    // A "seal" that does nothing: the node stays active, as one whose seal is undone at once.
    await assert.rejects(
      new MockActivityEnvironment().run(() => sealUntilItHolds({ name: 'dr-stubborn', address: node.address }, async () => undefined, 1_500)),
      (err: Error & { type?: string }) => {
        assert.equal(err.type, 'VaultRequestFailed');
        assert.match(err.message, /target dr-stubborn: unsealed itself again after each of 3 seals/);
        assert.match(err.message, /after: stop/);
        return true;
      },
    );
  });
});
