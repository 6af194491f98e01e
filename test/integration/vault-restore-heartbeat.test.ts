import assert from 'node:assert/strict';
import { mkdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { MockActivityEnvironment } from '@temporalio/testing';
import { fillSecrets } from '../../bench/fill';
import { createVaultActivities, type UploadProgress } from '../../activities/vault';
import { startOpenBao, writeStaticSealKey, type OpenBaoNode } from '../../dev-stack/openbao';
import { initNode, waitForActive } from '../../dev-stack/openbao-setup';
import { seedSourceCluster } from '../../dev-stack/vault-seed';
import type { SecdrConfig } from '../../lib/config/schema';
import { knownSecrets } from '../../lib/secret-registry';
import { testConfig } from '../harness/config';
import { approle } from '../harness/restore-worker';
import { tempDir } from '../harness/temp';

const UPLOAD_KEYS = new Set(['restoring', 'over', 'bytesSent', 'bytes', 'phase']);

/** The force-restore's own heartbeats (waiting for the target to turn active heartbeats too, without `restoring`). */
const uploadBeats = (beats: unknown[]) => beats.filter((b): b is UploadProgress => typeof b === 'object' && b !== null && 'restoring' in b);

/** What every force-restore must heartbeat: its progress from 0 to every byte, and nothing else. */
function assertUploadProgress(beats: unknown[], key: string, bytes: number, over?: string): void {
  const upload = uploadBeats(beats);
  assert.ok(upload.length >= 2, `at least the start and the end of the upload heartbeated: ${JSON.stringify(upload)}`);
  assert.deepEqual(upload[0], { restoring: key, ...(over ? { over } : {}), bytesSent: 0, bytes, phase: 'uploading' });
  assert.deepEqual(upload.at(-1), { restoring: key, ...(over ? { over } : {}), bytesSent: bytes, bytes, phase: "waiting for Vault's answer" });
  for (let i = 1; i < upload.length; i++) assert.ok(upload[i].bytesSent >= upload[i - 1].bytesSent, `bytes sent never go back: ${JSON.stringify(upload)}`);
  for (const b of upload) assert.deepEqual(Object.keys(b).filter((k) => !UPLOAD_KEYS.has(k)), [], `heartbeat details carry only progress: ${JSON.stringify(b)}`);
  // The temporary root token (first run) and the restorer's token (second) are noted secrets: none may reach a heartbeat.
  const text = JSON.stringify(beats);
  const leaked = [...knownSecrets()].filter(([value]) => text.includes(value)).map(([, what]) => what);
  assert.deepEqual(leaked, [], 'no secret in the heartbeat details');
}

describe('force-restore heartbeats its upload (real OpenBao): bytes sent while the snapshot streams, no token in the details', function () {
  this.timeout(180_000);
  const tmp = tempDir('restore-heartbeat');
  let source: OpenBaoNode;
  let dr: OpenBaoNode;
  let config: SecdrConfig;
  let file: string;
  let bytes: number;

  before(async () => {
    const sealKey = writeStaticSealKey(join(tmp.dir, 'static.key'));
    const baoDir = join(tmp.dir, 'openbao');
    [source, dr] = await Promise.all(['source', 'dr'].map((nodeId) => startOpenBao({ dir: baoDir, nodeId, staticSealKeyFile: sealKey })));
    const { rootToken } = await initNode(source.address, 'auto');
    const credsDir = join(tmp.dir, 'creds');
    mkdirSync(credsDir);
    const creds = await seedSourceCluster({ address: source.address, rootToken, credsDir });
    // 4 MiB of barrier-encrypted secrets: the snapshot streams in many chunks.
    await fillSecrets(source.address, rootToken, 0, 8, () => undefined);
    const res = await fetch(`${source.address}/v1/sys/storage/raft/snapshot`, { headers: { 'X-Vault-Token': rootToken } });
    assert.equal(res.status, 200);
    file = join(tmp.dir, 'source.snap');
    writeFileSync(file, Buffer.from(await res.arrayBuffer()));
    bytes = statSync(file).size;
    assert.ok(bytes > 4 * 2 ** 20, `snapshot of ${bytes} bytes`);
    config = testConfig(tmp.dir, {
      restore: { targets: [{ name: 'dr', address: dr.address, seal: 'auto', verifier: approle(creds.verifier), restorer: approle(creds.restorer) }] },
    });
  });

  after(async () => {
    await Promise.all([source, dr].filter(Boolean).map((n) => n.process.stop()));
    tmp.cleanup();
  });

  const restore = async () => {
    const env = new MockActivityEnvironment();
    const beats: unknown[] = [];
    env.on('heartbeat', (d: unknown) => beats.push(d));
    const result = await env.run(createVaultActivities(config).restoreSnapshot, { target: 'dr', candidates: [{ key: 'src/source.snap', file }] });
    return { result, beats };
  };

  it('into a fresh target: heartbeats 0 bytes, then every byte sent while waiting for Vault, and restores', async () => {
    const { result, beats } = await restore();
    assert.deepEqual(result, { used: 'src/source.snap', rejected: [] });
    assertUploadProgress(beats, 'src/source.snap', bytes);
  });

  it('over the earlier restore (restorer credential): the same progress, marked as over the earlier restore', async () => {
    await waitForActive(dr.address, 60_000);
    const { result, beats } = await restore();
    assert.deepEqual(result, { used: 'src/source.snap', rejected: [] });
    assertUploadProgress(beats, 'src/source.snap', bytes, 'earlier restore');
  });
});
