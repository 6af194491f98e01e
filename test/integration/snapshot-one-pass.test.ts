import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync } from 'node:fs';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  CreateBucketCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  S3Client,
} from '@aws-sdk/client-s3';
import type { S3StorageConfig } from '../../lib/config/schema';
import { FailureType } from '../../lib/failure-types';
import { startMoto, type MotoServer } from '../../dev-stack/moto';
import { startOpenBao, writeStaticSealKey, type OpenBaoNode } from '../../dev-stack/openbao';
import { enableKv, initNode } from '../../dev-stack/openbao-setup';
import { takeAndStore, type TakeAndStoreOptions } from '../../lib/snapshot/take-and-store';
import { verifySnapshotFile } from '../../lib/snapshot/verify-file';
import { S3SnapshotStore } from '../../lib/storage/s3-store';
import { createStore, snapshotName } from '../../lib/storage/snapshot-store';
import { tempDir } from '../harness/temp';

const MiB = 1024 * 1024;
const BUCKET = 'secdr-one-pass';
const PREFIX = 'vault-snapshots/';
const KMS_KEY_ARN = 'arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab';
/** S3's smallest part: the ~12 MiB snapshot below then needs three parts, so it is a real multipart upload. */
const PART = 5 * MiB;

/**
 * An HTTP proxy in front of OpenBao that, at byte `offset` of the raft snapshot body, flips
 * that byte (the real server's stream damaged in transit, as a faulty network or proxy would)
 * or holds the stream until `hold()` resolves (so a failure can be placed mid-stream exactly).
 */
async function snapshotProxy(
  target: string,
  offset: number,
  act: { flip: true } | { hold: () => Promise<void> },
): Promise<Server & { address: string }> {
  const upstream = new URL(target);
  const server = createServer((req, res) => {
    const out = request(
      { host: upstream.hostname, port: upstream.port, path: req.url, method: req.method, headers: req.headers },
      (up) => {
        res.writeHead(up.statusCode ?? 502, up.headers);
        if (!req.url?.startsWith('/v1/sys/storage/raft/snapshot')) return void up.pipe(res);
        let seen = 0;
        up.on('data', (chunk: Buffer) => {
          const hit = offset >= seen && offset < seen + chunk.length;
          seen += chunk.length;
          if (hit && 'flip' in act) chunk[offset - (seen - chunk.length)] ^= 0xff;
          if (hit && 'hold' in act) {
            up.pause();
            void act.hold().then(() => (res.write(chunk), up.resume()));
            return;
          }
          res.write(chunk);
        });
        up.on('end', () => res.end());
      },
    );
    req.pipe(out);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return Object.assign(server, { address: `http://127.0.0.1:${(server.address() as AddressInfo).port}` });
}

describe('one-pass snapshot pipeline against real OpenBao and moto', function () {
  this.timeout(180_000);
  const tmp = tempDir('one-pass');
  let bao: OpenBaoNode;
  let token: string;
  let moto: MotoServer;
  let raw: S3Client;
  const saved: Record<string, string | undefined> = {};
  let n = 0;

  const s3Config = (endpoint: string): S3StorageConfig => ({
    name: 'offsite',
    type: 's3',
    bucket: BUCKET,
    region: 'us-east-1',
    prefix: PREFIX,
    kmsKeyId: KMS_KEY_ARN,
    endpoint,
    forcePathStyle: true,
  });
  const s3Store = (endpoint = moto.endpoint) =>
    new S3SnapshotStore(s3Config(endpoint), { partSize: PART, queueSize: 2 });
  const localStore = () => createStore({ name: 'nearby', type: 'local', dir: join(tmp.dir, 'store') });

  /** Options for one run: a fresh name (one second apart), both stores, a local copy. */
  function run(over: Partial<TakeAndStoreOptions> = {}): TakeAndStoreOptions {
    const takenAt = new Date(Date.UTC(2026, 10, 26, 2, 0, n++));
    const fileName = snapshotName('prod', takenAt);
    return {
      address: bao.address,
      token,
      cluster: 'prod',
      fileName,
      takenAt,
      stores: [s3Store(), localStore()],
      localCopy: join(tmp.dir, 'staging', fileName),
      canary: { nonce: 'n1', writtenAt: takenAt.toISOString() },
      ...over,
    };
  }

  async function objectsUnder(prefix: string, client = raw): Promise<string[]> {
    const page = await client.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: prefix }));
    return (page.Contents ?? []).map((o) => o.Key!);
  }
  async function openUploads(client = raw): Promise<string[]> {
    const page = await client.send(new ListMultipartUploadsCommand({ Bucket: BUCKET }));
    return (page.Uploads ?? []).map((u) => u.Key!);
  }
  /** An S3 (its own moto) that is stopped mid-stream: at 6 MiB the snapshot stream waits until the multipart upload exists there, then until moto is gone. */
  async function s3GoingAway(name: string) {
    const doomed = await startMoto(join(tmp.dir, name));
    const client = new S3Client({ region: 'us-east-1', endpoint: doomed.endpoint, forcePathStyle: true });
    await client.send(new CreateBucketCommand({ Bucket: BUCKET }));
    client.destroy();
    const proxy = await snapshotProxy(bao.address, 6 * MiB, {
      hold: async () => {
        const watcher = new S3Client({ region: 'us-east-1', endpoint: doomed.endpoint, forcePathStyle: true });
        while ((await watcher.send(new ListMultipartUploadsCommand({ Bucket: BUCKET }))).Uploads === undefined)
          await sleep(50);
        watcher.destroy();
        await doomed.process.stop();
      },
    });
    return { doomed, proxy };
  }
  /** Nothing of `fileName` in the local store, its catalog, or the staging directory (no partial files either). */
  function nothingLocal(fileName: string): void {
    const names = (dir: string) => (existsSync(dir) ? readdirSync(dir) : []);
    assert.deepEqual(
      names(join(tmp.dir, 'store', 'prod')).filter((f) => f.startsWith(fileName)),
      [],
    );
    assert.deepEqual(
      names(join(tmp.dir, 'store', 'prod', 'catalog')).filter((f) => f.startsWith(fileName)),
      [],
    );
    assert.deepEqual(
      names(join(tmp.dir, 'staging')).filter((f) => f.startsWith(fileName)),
      [],
    );
  }

  before(async () => {
    for (const [k, v] of Object.entries({
      AWS_ACCESS_KEY_ID: 'test',
      AWS_SECRET_ACCESS_KEY: 'test',
      AWS_REGION: 'us-east-1',
    })) {
      saved[k] = process.env[k];
      process.env[k] = v;
    }
    const sealKey = writeStaticSealKey(join(tmp.dir, 'static.key'));
    [moto, bao] = await Promise.all([
      startMoto(join(tmp.dir, 'moto')),
      startOpenBao({ dir: join(tmp.dir, 'openbao'), nodeId: 'source', staticSealKeyFile: sealKey }),
    ]);
    token = (await initNode(bao.address, 'auto')).rootToken;
    await enableKv(bao.address, token);
    // ~12 MiB of barrier-encrypted data (incompressible): 24 secrets of 512 KiB.
    for (let i = 0; i < 24; i++) {
      for (let attempt = 0; ; attempt++) {
        const res = await fetch(`${bao.address}/v1/secret/data/fill/${i}`, {
          method: 'POST',
          headers: { 'X-Vault-Token': token, 'Content-Type': 'application/json' },
          body: JSON.stringify({ data: { v: randomBytes(384 * 1024).toString('base64') } }),
        });
        const text = await res.text();
        if (res.status === 200) break;
        // A fresh kv v2 mount answers 400 "Upgrading from non-versioned to versioned data" for a moment.
        assert.ok(res.status === 400 && /Upgrading/.test(text) && attempt < 100, `${res.status} ${text}`);
        await sleep(100);
      }
    }
    raw = new S3Client({ region: 'us-east-1', endpoint: moto.endpoint, forcePathStyle: true });
    await raw.send(new CreateBucketCommand({ Bucket: BUCKET }));
  });
  after(async () => {
    raw?.destroy();
    await Promise.all([moto?.process.stop(), bao?.process.stop()]);
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
    tmp.cleanup();
  });

  it('streams the snapshot into S3 (multipart), a local store and a staging copy at once, cataloged only after read-back', async () => {
    const o = run();
    const seen: number[] = [];
    const r = await takeAndStore({ ...o, onBytes: (b) => seen.push(b) });
    assert.ok(r.bytes > 2 * PART, `the snapshot (${r.bytes} bytes) spans at least three parts`);
    assert.equal(seen.at(-1), r.bytes);
    assert.deepEqual(
      r.uploads.map((u) => u.storage),
      ['offsite', 'nearby'],
    );
    const copy = await verifySnapshotFile(r.localCopy!);
    assert.equal(copy.archiveSha256, r.sha256, 'the staging copy holds the verified bytes');
    for (const store of [s3Store(), localStore()]) {
      const [entry] = await store.list('prod');
      assert.equal(entry.sha256, r.sha256);
      assert.equal(entry.bytes, r.bytes);
      assert.equal(entry.raftIndex, r.raftIndex);
      assert.equal(entry.canaryNonce, 'n1');
      const dest = join(tmp.dir, 'download', store.name, o.fileName);
      await store.get(entry.key, dest);
      assert.equal(
        (await verifySnapshotFile(dest)).archiveSha256,
        r.sha256,
        `${store.name} holds a snapshot that verifies`,
      );
    }
    const head = await raw.send(
      new HeadObjectCommand({ Bucket: BUCKET, Key: `${PREFIX}prod/${o.fileName}`, ChecksumMode: 'ENABLED' }),
    );
    assert.equal(head.ServerSideEncryption, 'aws:kms');
    assert.equal(head.SSEKMSKeyId, KMS_KEY_ARN);
    assert.equal(head.ContentLength, r.bytes);
    assert.deepEqual(await openUploads(), []);
  });

  it('writes no staging copy when local retention is off (no localCopy)', async () => {
    const o = run({ localCopy: undefined });
    const r = await takeAndStore(o);
    assert.equal(r.localCopy, undefined);
    assert.ok(!existsSync(join(tmp.dir, 'staging', o.fileName)));
  });

  it('aborts the multipart upload and stores, catalogs and keeps nothing when the stream fails verification mid-way', async () => {
    // The byte at 6 MiB: after the first 5 MiB part went to S3, long before the archive ends.
    const proxy = await snapshotProxy(bao.address, 6 * MiB, { flip: true });
    try {
      const o = run({ address: proxy.address });
      await assert.rejects(takeAndStore(o), (err: Error & { type?: string }) => {
        assert.equal(err.type, FailureType.SnapshotStreamIncomplete, err.message);
        assert.match(err.message, /snapshot vault-prod-\d{8}-\d{6}\.snap: /);
        assert.match(
          err.message,
          /the multipart upload to s3:\/\/secdr-one-pass\/vault-snapshots\/prod\/.* was aborted/,
        );
        assert.match(err.message, /nothing was stored or cataloged/);
        return true;
      });
      assert.deepEqual(await openUploads(), [], 'no multipart upload is left open');
      assert.deepEqual(await objectsUnder(`${PREFIX}prod/${o.fileName}`), [], 'no object');
      assert.deepEqual(await objectsUnder(`${PREFIX}prod/catalog/${o.fileName}`), [], 'no catalog entry');
      nothingLocal(o.fileName);
    } finally {
      proxy.close();
    }
  });

  it('gives up S3 alone when it goes away mid-upload: the local storage finishes and catalogs the verified snapshot, the run fails naming S3 and the upload it could not abort', async () => {
    const { doomed, proxy } = await s3GoingAway('moto-doomed');
    const o = run({ address: proxy.address, stores: [s3Store(doomed.endpoint), localStore()] });
    await assert.rejects(takeAndStore(o), (err: Error & { type?: string }) => {
      assert.equal(err.type, FailureType.StorageRequestFailed, err.message);
      assert.match(
        err.message,
        /storage offsite: upload s3:\/\/secdr-one-pass\/vault-snapshots\/prod\/vault-prod-.*\.snap failed/,
      );
      assert.match(err.message, /aborting the multipart upload to s3:\/\/.* failed too .*lifecycle rule/);
      assert.match(err.message, /the verified snapshot is stored and cataloged in nearby/);
      return true;
    });
    proxy.close();
    // The whole archive reached the local storage after S3 was gone, and it verifies.
    const entries = (await localStore().list('prod')).filter((e) => e.key.endsWith(o.fileName));
    assert.equal(entries.length, 1, JSON.stringify(entries));
    const dest = join(tmp.dir, 'download', 'after-s3-away', o.fileName);
    await localStore().get(entries[0].key, dest);
    const verified = await verifySnapshotFile(dest);
    assert.equal(verified.archiveSha256, entries[0].sha256, 'the local copy is the verified archive');
    assert.ok(entries[0].bytes > 6 * MiB, 'all of it, not what was sent before S3 went away');
    // The staging copy follows the storages: one failed, so it is not kept.
    assert.ok(!existsSync(join(tmp.dir, 'staging', o.fileName)));
  });

  it('keeps nothing when the only storage goes away mid-upload', async () => {
    const { doomed, proxy } = await s3GoingAway('moto-doomed-alone');
    const o = run({ address: proxy.address, stores: [s3Store(doomed.endpoint)] });
    await assert.rejects(takeAndStore(o), (err: Error) => {
      assert.match(err.message, /storage offsite: upload s3:\/\/.* failed/);
      assert.match(err.message, /nothing was cataloged/);
      return true;
    });
    proxy.close();
    nothingLocal(o.fileName);
  });
});
