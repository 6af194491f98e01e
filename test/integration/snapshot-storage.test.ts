import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CreateBucketCommand, HeadObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import type { S3StorageConfig } from '../../lib/config/schema';
import { FailureType } from '../../lib/failure-types';
import { startMoto, type MotoServer } from '../../dev-stack/moto';
import { sameKmsKey } from '../../lib/storage/kms-key';
import { PART_SIZE, S3SnapshotStore } from '../../lib/storage/s3-store';
import { createStore, snapshotName, type SnapshotMeta, type SnapshotStore } from '../../lib/storage/snapshot-store';
import { tempDir } from '../harness/temp';

const MiB = 1024 * 1024;
const BUCKET = 'secdr-snapshots';
const PREFIX = 'vault-snapshots/';
const KMS_KEY_ID = '1234abcd-12ab-34cd-56ef-1234567890ab';
const KMS_KEY_ARN = `arn:aws:kms:us-east-1:123456789012:key/${KMS_KEY_ID}`;

interface Fixture {
  file: string;
  meta: SnapshotMeta;
  data: Buffer;
}

/** A random "archive" on disk and the metadata the snapshot step would hand to the store. */
function fixture(dir: string, takenAt: string, bytes: number, cluster = 'prod'): Fixture {
  const data = randomBytes(bytes);
  const at = new Date(takenAt);
  const name = snapshotName(cluster, at);
  const file = join(dir, name);
  writeFileSync(file, data);
  const meta: SnapshotMeta = {
    key: name, // as the upload activity passes it: the bare file name
    cluster,
    sha256: createHash('sha256').update(data).digest('hex'),
    bytes,
    raftIndex: 42,
    raftTerm: 3,
    takenAt: at.toISOString(),
    verifiedAt: new Date(at.getTime() + 60_000).toISOString(),
    canaryNonce: randomBytes(8).toString('hex'),
    canaryWrittenAt: at.toISOString(),
    storage: 'ignored',
  };
  return { file, meta, data };
}

const isFailure =
  (type: string, ...messages: RegExp[]) =>
  (err: unknown): true => {
    const e = err as { type?: string; message: string };
    assert.equal(e.type, type, `expected a ${type} failure, got: ${e.message}`);
    for (const m of messages) assert.match(e.message, m);
    return true;
  };

const sha256Hex = (data: Buffer) => createHash('sha256').update(data).digest('hex');

interface StoreUnderTest {
  store: SnapshotStore;
  /** Replaces the stored bytes behind the store's back. */
  tamper(key: string, data: Buffer): Promise<void>;
  objectExists(key: string): Promise<boolean>;
}

/** Behaviour every store shares; `setup` runs in a before hook. */
function behavesAsSnapshotStore(setup: () => StoreUnderTest, keyPrefix: string, work: () => string) {
  let s: StoreUnderTest;
  let big: Fixture;
  let small: Fixture;
  let oldest: Fixture;
  before(() => {
    s = setup();
    const dir = join(work(), 'staging');
    mkdirSync(dir, { recursive: true });
    // 20 MiB + 3 bytes: three 8 MiB parts, the last one short.
    big = fixture(dir, '2026-11-25T02:00:00Z', 20 * MiB + 3);
    small = fixture(dir, '2026-11-26T02:00:00Z', 1000);
    oldest = fixture(dir, '2026-11-24T02:00:00Z', 5000);
  });

  it('uploads a multipart and a small snapshot, lists the catalog newest first and downloads both intact', async () => {
    const progress: number[] = [];
    for (const f of [big, small, oldest]) {
      const put = await s.store.put(f.file, f.meta, (b) => progress.push(b));
      assert.equal(put.key, `${keyPrefix}prod/${f.meta.key}`);
      assert.equal(put.bytes, f.meta.bytes);
    }
    assert.equal(Math.max(...progress), big.meta.bytes, 'progress reaches the full size');

    const listed = await s.store.list('prod');
    assert.deepEqual(
      listed.map((m) => m.key),
      [small, big, oldest].map((f) => `${keyPrefix}prod/${f.meta.key}`),
    );
    assert.deepEqual(listed[1], { ...big.meta, key: `${keyPrefix}prod/${big.meta.key}`, storage: s.store.name });
    assert.deepEqual(await s.store.list('other'), []);

    for (const f of [big, small]) {
      const dest = join(work(), 'restore', f.meta.key);
      const seen: number[] = [];
      const meta = await s.store.get(`${keyPrefix}prod/${f.meta.key}`, dest, (b) => seen.push(b));
      assert.equal(meta.sha256, f.meta.sha256);
      assert.equal(meta.canaryNonce, f.meta.canaryNonce);
      assert.equal(sha256Hex(readFileSync(dest)), f.meta.sha256);
      assert.equal(seen.at(-1), f.meta.bytes);
    }
  });

  it('finds a snapshot by its bare file name too', async () => {
    const meta = await s.store.get(small.meta.key, join(work(), 'restore', 'by-name.snap'));
    assert.equal(meta.key, `${keyPrefix}prod/${small.meta.key}`);
  });

  it('rejects a download whose stored bytes were replaced with different bytes of the same size', async () => {
    const key = `${keyPrefix}prod/${oldest.meta.key}`;
    await s.tamper(key, randomBytes(oldest.meta.bytes));
    const dest = join(work(), 'restore', 'tampered.snap');
    await assert.rejects(s.store.get(key, dest), isFailure(FailureType.SnapshotCorrupt, /sha256 [0-9a-f]{64}, expected [0-9a-f]{64}.*use the previous snapshot/));
    assert.ok(!existsSync(dest), 'nothing is left at the destination');
    assert.deepEqual(readdirSync(join(work(), 'restore')).filter((n) => n.endsWith('.partial')), []);
  });

  it('rejects a download whose stored object changed size', async () => {
    const key = `${keyPrefix}prod/${oldest.meta.key}`;
    await s.tamper(key, randomBytes(17));
    await assert.rejects(s.store.get(key, join(work(), 'restore', 'short.snap')), isFailure(FailureType.SnapshotCorrupt, /size 17 bytes, expected 5000/));
  });

  it('does not catalog a snapshot whose staging file no longer matches its verified hash', async () => {
    const f = fixture(join(work(), 'staging'), '2026-11-27T02:00:00Z', 2000);
    const wrong = { ...f.meta, sha256: sha256Hex(Buffer.from('something else')) };
    await assert.rejects(s.store.put(f.file, wrong), isFailure(FailureType.SnapshotCorrupt, /no longer matches the verified snapshot.*re-run the backup/));
    assert.ok(!(await s.store.list('prod')).some((m) => m.key.endsWith(f.meta.key)), 'not in the catalog');
    assert.equal(await s.objectExists(`${keyPrefix}prod/${f.meta.key}`), false, 'the uploaded object was removed');
    await assert.rejects(s.store.put(f.file, { ...f.meta, bytes: 1999 }), isFailure(FailureType.SnapshotCorrupt, /size 2000 bytes, expected 1999/));
  });

  it('answers SnapshotNotFound for a snapshot that is not in the catalog', async () => {
    await assert.rejects(
      s.store.get(`${keyPrefix}prod/vault-prod-20200101-000000.snap`, join(work(), 'restore', 'none.snap')),
      isFailure(FailureType.SnapshotNotFound, /not in the catalog/),
    );
    await assert.rejects(s.store.get('../../etc/passwd', join(work(), 'x')), isFailure(FailureType.InvalidInput));
  });

  it('deletes the catalog entry and the object, and a second delete is harmless', async () => {
    const key = `${keyPrefix}prod/${oldest.meta.key}`;
    await s.store.delete(key);
    assert.deepEqual(
      (await s.store.list('prod')).map((m) => m.key),
      [small, big].map((f) => `${keyPrefix}prod/${f.meta.key}`),
    );
    assert.equal(await s.objectExists(key), false);
    await assert.rejects(s.store.get(key, join(work(), 'restore', 'gone.snap')), isFailure(FailureType.SnapshotNotFound));
    await s.store.delete(key);
  });
}

describe('snapshot storage', function () {
  const tmp = tempDir('storage');
  after(() => tmp.cleanup());

  describe('S3 store against moto', () => {
    let moto: MotoServer;
    let raw: S3Client;
    const saved: Record<string, string | undefined> = {};
    const cfg = (over: Partial<S3StorageConfig> = {}): S3StorageConfig => ({
      name: 'offsite',
      type: 's3',
      bucket: BUCKET,
      region: 'us-east-1',
      prefix: PREFIX,
      kmsKeyId: KMS_KEY_ARN,
      endpoint: moto.endpoint,
      forcePathStyle: true,
      ...over,
    });

    before(async () => {
      // The store takes credentials only from the default provider chain, as a worker would.
      for (const [k, v] of Object.entries({ AWS_ACCESS_KEY_ID: 'test', AWS_SECRET_ACCESS_KEY: 'test', AWS_REGION: 'us-east-1' })) {
        saved[k] = process.env[k];
        process.env[k] = v;
      }
      moto = await startMoto(join(tmp.dir, 'moto'));
      raw = new S3Client({ region: 'us-east-1', endpoint: moto.endpoint, forcePathStyle: true });
      await raw.send(new CreateBucketCommand({ Bucket: BUCKET }));
    });
    after(async () => {
      raw?.destroy();
      await moto?.process.stop();
      for (const [k, v] of Object.entries(saved)) {
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
      }
    });

    behavesAsSnapshotStore(
      () => ({
        store: createStore(cfg()),
        tamper: async (key, data) => {
          await raw.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: data }));
        },
        objectExists: async (key) =>
          raw.send(new HeadObjectCommand({ Bucket: BUCKET, Key: key })).then(
            () => true,
            (err: { name?: string }) => (err.name === 'NotFound' ? false : Promise.reject(err)),
          ),
      }),
      PREFIX,
      () => join(tmp.dir, 's3'),
    );

    describe('read-back', () => {
      const dir = () => join(tmp.dir, 's3-readback');
      before(() => mkdirSync(dir(), { recursive: true }));

      it('stores with SSE-KMS under the configured key, with metadata, and returns what HEAD reported', async () => {
        const big = fixture(dir(), '2026-11-20T02:00:00Z', 20 * MiB + 3);
        const small = fixture(dir(), '2026-11-21T02:00:00Z', 100);
        const store = createStore(cfg());
        const putBig = await store.put(big.file, big.meta);
        const putSmall = await store.put(small.file, small.meta);

        const head = await raw.send(new HeadObjectCommand({ Bucket: BUCKET, Key: putBig.key, ChecksumMode: 'ENABLED' }));
        assert.equal(head.ServerSideEncryption, 'aws:kms');
        assert.equal(head.SSEKMSKeyId, KMS_KEY_ARN);
        assert.deepEqual(head.Metadata, { sha256: big.meta.sha256, 'raft-index': '42', cluster: 'prod', 'taken-at': big.meta.takenAt });
        assert.equal(putBig.location, `s3://${BUCKET}/${putBig.key}`);
        assert.equal(putBig.sseKmsKeyId, KMS_KEY_ARN);

        // Composite multipart checksum, computed independently of the store. moto 5.2.5 omits the "-3" suffix on HEAD.
        const parts = [0, 1, 2].map((i) => createHash('sha256').update(big.data.subarray(i * PART_SIZE, (i + 1) * PART_SIZE)).digest());
        const composite = createHash('sha256').update(Buffer.concat(parts)).digest('base64');
        assert.match(putBig.checksumSha256 ?? '', new RegExp(`^${composite.replace(/[+/]/g, '\\$&')}(-3)?$`));
        assert.equal(putSmall.checksumSha256, createHash('sha256').update(small.data).digest('base64'));

        const catalogHead = await raw.send(new HeadObjectCommand({ Bucket: BUCKET, Key: `${PREFIX}prod/catalog/${small.meta.key}.json` }));
        assert.equal(catalogHead.ServerSideEncryption, 'aws:kms', 'the catalog entry is encrypted too');
      });

      it('accepts a bare key id in the config when S3 reports the key ARN (and the reverse)', () => {
        assert.ok(sameKmsKey(KMS_KEY_ID, KMS_KEY_ARN));
        assert.ok(sameKmsKey(KMS_KEY_ARN, KMS_KEY_ID));
        assert.ok(sameKmsKey(KMS_KEY_ARN, KMS_KEY_ARN));
        assert.ok(!sameKmsKey(KMS_KEY_ID, 'arn:aws:kms:us-east-1:123456789012:key/ffffffff-12ab-34cd-56ef-1234567890ab'));
        assert.ok(!sameKmsKey(KMS_KEY_ARN, KMS_KEY_ARN.replace('123456789012', '999999999999')), 'another account’s key with the same id');
        assert.ok(!sameKmsKey(KMS_KEY_ID, undefined));
      });

      it('uploads with the bare key id configured', async () => {
        const f = fixture(dir(), '2026-11-22T02:00:00Z', 300, 'byid');
        const put = await createStore(cfg({ kmsKeyId: KMS_KEY_ID })).put(f.file, f.meta);
        assert.equal(put.sseKmsKeyId, KMS_KEY_ID, 'moto echoes the id as sent');
      });

      it('refuses a KMS alias, whose key the read-back could not check', () => {
        assert.throws(() => createStore(cfg({ kmsKeyId: 'alias/secdr' })), isFailure(FailureType.InvalidInput, /alias/));
      });

      /** A store whose HEAD answers are rewritten, standing in for an S3 that stored something else. */
      function storeWithHead(rewrite: (out: Record<string, unknown>) => void): S3SnapshotStore {
        const client = new S3Client({ region: 'us-east-1', endpoint: moto.endpoint, forcePathStyle: true });
        client.middlewareStack.add(
          (next, context) => async (args) => {
            const result = await next(args);
            if (context.commandName === 'HeadObjectCommand') rewrite(result.output as unknown as Record<string, unknown>);
            return result;
          },
          { step: 'initialize', name: 'rewriteHead' },
        );
        return new S3SnapshotStore(cfg(), { client });
      }

      for (const [what, rewrite, message] of [
        ['another KMS key', (o: Record<string, unknown>) => (o.SSEKMSKeyId = KMS_KEY_ARN.replace(KMS_KEY_ID, 'ffffffff-0000-0000-0000-000000000000')), /KMS key arn:.*ffffffff.*expected/],
        ['no server-side encryption', (o: Record<string, unknown>) => (o.ServerSideEncryption = 'AES256'), /server-side encryption AES256, expected aws:kms/],
        ['another checksum', (o: Record<string, unknown>) => (o.ChecksumSHA256 = createHash('sha256').update('x').digest('base64')), /SHA-256 checksum .* expected composite/],
        ['the wrong part count', (o: Record<string, unknown>) => (o.ChecksumSHA256 = `${String(o.ChecksumSHA256).replace(/-\d+$/, '')}-2`), /checksum covers 2 parts, expected 3/],
        ['no checksum', (o: Record<string, unknown>) => delete o.ChecksumSHA256, /no SHA-256 checksum returned/],
        ['another size', (o: Record<string, unknown>) => (o.ContentLength = 5), /size 5 bytes, expected 20971523/],
      ] as const) {
        it(`refuses to catalog an upload whose read-back reports ${what}, and removes the object`, async () => {
          const f = fixture(dir(), '2026-11-23T02:00:00Z', 20 * MiB + 3, 'mismatch');
          const store = storeWithHead(rewrite);
          await assert.rejects(store.put(f.file, f.meta), isFailure(FailureType.UploadMismatch, message, /was removed; it was not cataloged: retry/));
          assert.deepEqual(await store.list('mismatch'), []);
          await assert.rejects(raw.send(new HeadObjectCommand({ Bucket: BUCKET, Key: `${PREFIX}mismatch/${f.meta.key}` })), { name: 'NotFound' });
        });
      }

      it('removes the catalog entry before the object, so an interrupted delete leaves no entry pointing at nothing', async () => {
        const f = fixture(dir(), '2026-11-24T02:00:00Z', 400, 'halfdeleted');
        const key = `${PREFIX}halfdeleted/${f.meta.key}`;
        const client = new S3Client({ region: 'us-east-1', endpoint: moto.endpoint, forcePathStyle: true });
        client.middlewareStack.add(
          (next, context) => async (args) => {
            if (context.commandName === 'DeleteObjectCommand' && (args.input as { Key?: string }).Key === key) throw new Error('injected: connection reset');
            return next(args);
          },
          { step: 'initialize', name: 'failObjectDelete' },
        );
        const store = new S3SnapshotStore(cfg(), { client });
        await store.put(f.file, f.meta);
        await assert.rejects(store.delete(key), /delete s3:\/\/.*halfdeleted.*injected: connection reset/);
        assert.deepEqual(await store.list('halfdeleted'), [], 'the catalog no longer lists it');
        await raw.send(new HeadObjectCommand({ Bucket: BUCKET, Key: key }));
        await createStore(cfg()).delete(key); // the retry completes it
        await assert.rejects(raw.send(new HeadObjectCommand({ Bucket: BUCKET, Key: key })), { name: 'NotFound' });
      });

      it('skips a damaged catalog entry with a warning instead of hiding every snapshot', async () => {
        const f = fixture(dir(), '2026-11-25T02:00:00Z', 10, 'damaged');
        const warnings: string[] = [];
        const store = new S3SnapshotStore(cfg(), { warn: (m) => warnings.push(m) });
        await store.put(f.file, f.meta);
        await raw.send(new PutObjectCommand({ Bucket: BUCKET, Key: `${PREFIX}damaged/catalog/vault-damaged-20261101-020000.snap.json`, Body: '{"key": 1' }));
        assert.deepEqual((await store.list('damaged')).map((m) => m.key), [`${PREFIX}damaged/${f.meta.key}`]);
        assert.equal(warnings.length, 1);
        assert.match(warnings[0], /vault-damaged-20261101-020000\.snap\.json skipped: not JSON/);
      });
    });
  });

  describe('local directory store', () => {
    const root = () => join(tmp.dir, 'local-store');
    behavesAsSnapshotStore(
      () => {
        const store = createStore({ name: 'nearby', type: 'local', dir: root() });
        return {
          store,
          tamper: async (key, data) => writeFileSync(join(root(), key), data),
          objectExists: async (key) => existsSync(join(root(), key)),
        };
      },
      '',
      () => join(tmp.dir, 'local'),
    );

    it('keeps the same layout as S3: <cluster>/<name> and <cluster>/catalog/<name>.json', () => {
      const names = readdirSync(join(root(), 'prod')).sort();
      assert.ok(names.includes('catalog'));
      assert.ok(names.some((n) => /^vault-prod-\d{8}-\d{6}\.snap$/.test(n)));
      assert.ok(readdirSync(join(root(), 'prod', 'catalog')).every((n) => /^vault-prod-\d{8}-\d{6}\.snap\.json$/.test(n)));
    });
  });
});
