import { mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Readable } from 'node:stream';
import {
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  type HeadObjectCommandOutput,
} from '@aws-sdk/client-s3';
import type { S3StorageConfig } from '../config/schema';
import { fail, FailureType } from '../fail';
import { catalogEntry, mapLimit, newestFirst, parseCatalogEntry } from './catalog';
import { commit, DIR_MODE, discard, streamToTemp } from './files';
import { compositeSha256, hexToBase64 } from './hashing';
import { differences, downloadMismatch, notFound, removeDescribed, uploadMismatch, type Measured } from './integrity';
import { isKmsAlias, sameKmsKey } from './kms-key';
import { catalogPrefix, checkClusterName, keyOfCatalogEntry, resolveKey, resolveMetaKey, type ResolvedKey } from './layout';
import { describeUnreachable } from '../vault/network-error';
import { putFile } from './put-file';
import { MultipartWriter } from './s3-multipart';
import type { PutResult, SnapshotMeta, SnapshotStore, SnapshotTarget, StoreOptions, StreamingPut } from './types';
import { TypedError } from '../failure-types';

/** Default multipart part size in bytes (8 MiB; chosen by measurement, docs/benchmarks.md). */
export const PART_SIZE = 8 * 1024 * 1024;
/** Default parts uploading at once; memory held is about PART_SIZE × (QUEUE_SIZE + 1). */
export const QUEUE_SIZE = 2;
/** Catalog entries read concurrently by `list`. */
const CATALOG_READS = 8;

export interface S3StoreOptions extends StoreOptions {
  /** A ready client (tests); by default one is built from the config and the default AWS credential chain. */
  client?: S3Client;
  /** Multipart part size in bytes (default PART_SIZE; S3's minimum is 5 MiB). */
  partSize?: number;
  /** Parts uploading at once (default QUEUE_SIZE). */
  queueSize?: number;
}

/**
 * Snapshots in an S3 bucket, encrypted with SSE-KMS and uploaded with SHA-256 checksums.
 * Credentials come only from the default AWS provider chain of the worker (environment,
 * shared config, instance/pod role), never from the config file or arguments.
 */
export class S3SnapshotStore implements SnapshotStore {
  readonly name: string;
  private readonly s3: S3Client;
  private readonly warn: (message: string) => void;
  private readonly partSize: number;
  private readonly queueSize: number;

  constructor(
    private readonly cfg: S3StorageConfig,
    options: S3StoreOptions = {},
  ) {
    this.name = cfg.name;
    if (isKmsAlias(cfg.kmsKeyId)) {
      // S3 reports the key behind an alias; without KMS access the read-back could not check it.
      throw fail(
        FailureType.InvalidInput,
        `storage ${cfg.name}: kmsKeyId "${cfg.kmsKeyId}" is a KMS alias; set the key id or key ARN so the upload read-back can check which key encrypted each snapshot`,
      );
    }
    this.s3 = options.client ?? new S3Client({ region: cfg.region, endpoint: cfg.endpoint, forcePathStyle: cfg.forcePathStyle });
    this.warn = options.warn ?? ((m) => console.warn(m));
    this.partSize = options.partSize ?? PART_SIZE;
    this.queueSize = options.queueSize ?? QUEUE_SIZE;
  }

  /** The S3 endpoint requests go to, for messages. */
  private get endpoint(): string {
    return this.cfg.endpoint ?? `https://s3.${this.cfg.region}.amazonaws.com`;
  }

  private get where(): string {
    return `storage ${this.name} (s3://${this.cfg.bucket}/${this.cfg.prefix})`;
  }

  private location(key: string): string {
    return `s3://${this.cfg.bucket}/${key}`;
  }

  async put(file: string, meta: SnapshotMeta, onProgress?: (bytes: number) => void): Promise<PutResult> {
    return putFile(this, file, meta, onProgress);
  }

  async begin(target: SnapshotTarget, onProgress?: (bytes: number) => void): Promise<StreamingPut> {
    const r = resolveMetaKey(this.cfg.prefix, target, this.where);
    const location = this.location(r.key);
    // An entry left from an earlier attempt would vouch for an object that is about to be replaced.
    await this.call('remove the stale catalog entry', r.catalogKey, () => this.s3.send(new DeleteObjectCommand({ Bucket: this.cfg.bucket, Key: r.catalogKey })));
    const known = (sha256?: string, raftIndex?: number) => ({
      ...(sha256 !== undefined ? { sha256 } : {}),
      ...(raftIndex !== undefined ? { 'raft-index': String(raftIndex) } : {}),
    });
    const writer = new MultipartWriter(
      this.s3,
      {
        Bucket: this.cfg.bucket,
        Key: r.key,
        ContentType: 'application/octet-stream',
        ServerSideEncryption: 'aws:kms',
        SSEKMSKeyId: this.cfg.kmsKeyId,
        Metadata: { ...known(target.sha256, target.raftIndex), cluster: target.cluster, 'taken-at': target.takenAt },
      },
      { partSize: this.partSize, concurrency: this.queueSize },
      onProgress,
    );
    const abort = async (): Promise<string> => {
      try {
        return (await writer.abort()) === 'aborted' ? `the multipart upload to ${location} was aborted` : `nothing was stored at ${location}`;
      } catch (err) {
        return `aborting the multipart upload to ${location} failed too (${(err as Error).message}): its parts stay until the bucket's AbortIncompleteMultipartUpload lifecycle rule removes them`;
      }
    };
    const removeObject = () => removeDescribed(`the uploaded object ${location}`, () => this.deleteObject(r.key));

    return {
      write: async (chunk) => {
        try {
          await writer.write(chunk);
        } catch (err) {
          throw this.failure('upload', r.key, err);
        }
      },
      abort,
      finish: async (meta) => {
        if (writer.bytes !== meta.bytes) {
          throw uploadMismatch(this.name, r.key, location, [`${writer.bytes} bytes were written, expected ${meta.bytes}`], await abort());
        }
        try {
          // A one-part object is sent now, so it can carry what only the end of the stream knew.
          await writer.complete(known(meta.sha256, meta.raftIndex));
        } catch (err) {
          const cleanup = await abort();
          throw this.failure('upload', r.key, err, cleanup);
        }
        const sent: Measured = { bytes: writer.bytes, sha256: meta.sha256 };
        const head = await this.call('read back (HEAD)', r.key, () =>
          this.s3.send(new HeadObjectCommand({ Bucket: this.cfg.bucket, Key: r.key, ChecksumMode: 'ENABLED' })),
        );
        const metadataSha = writer.multipart ? target.sha256 : meta.sha256;
        const problems = this.readBackProblems(head, sent, writer.partDigests, writer.multipart, metadataSha);
        if (problems.length > 0) throw uploadMismatch(this.name, r.key, location, problems, await removeObject());

        const entry: SnapshotMeta = { ...meta, key: r.key, storage: this.name };
        await this.call('write the catalog entry', r.catalogKey, () =>
          this.s3.send(
            new PutObjectCommand({
              Bucket: this.cfg.bucket,
              Key: r.catalogKey,
              Body: catalogEntry(entry),
              ContentType: 'application/json',
              ServerSideEncryption: 'aws:kms',
              SSEKMSKeyId: this.cfg.kmsKeyId,
              ChecksumAlgorithm: 'SHA256',
            }),
          ),
        );
        return { key: r.key, bytes: sent.bytes, location, sseKmsKeyId: head.SSEKMSKeyId, checksumSha256: head.ChecksumSHA256 };
      },
    };
  }

  /**
   * What HEAD says against what was sent. With moto these fields are echoes of the request
   * (it neither encrypts nor verifies checksums), so they prove the request was right; on
   * AWS, S3 verified the checksum on receipt, so a matching value also proves what it stored.
   */
  private readBackProblems(head: HeadObjectCommandOutput, sent: Measured, partDigests: Buffer[], multipart: boolean, metadataSha?: string): string[] {
    const problems: string[] = [];
    if (head.ContentLength !== sent.bytes) problems.push(`size ${head.ContentLength ?? '(none)'} bytes, expected ${sent.bytes}`);
    if (head.ServerSideEncryption !== 'aws:kms') problems.push(`server-side encryption ${head.ServerSideEncryption ?? '(none)'}, expected aws:kms`);
    if (!sameKmsKey(this.cfg.kmsKeyId, head.SSEKMSKeyId)) problems.push(`KMS key ${head.SSEKMSKeyId ?? '(none)'}, expected ${this.cfg.kmsKeyId}`);
    // A multipart upload streamed from Vault starts before its hash is known: the catalog entry holds it.
    const metaSha = head.Metadata?.sha256;
    if (metadataSha !== undefined && metaSha !== metadataSha) problems.push(`metadata sha256 ${metaSha ?? '(none)'}, expected ${metadataSha}`);
    problems.push(...checksumProblems(head, sent, partDigests, multipart));
    return problems;
  }

  async get(key: string, dest: string, onProgress?: (bytes: number) => void): Promise<SnapshotMeta> {
    const r = resolveKey(this.cfg.prefix, key, this.where);
    const meta = await this.catalogEntryFor(r);
    const location = this.location(r.key);
    const res = await this.call('download', r.key, () => this.s3.send(new GetObjectCommand({ Bucket: this.cfg.bucket, Key: r.key })), () =>
      notFound(this.name, r.key, `the catalog lists it but ${location} is missing`),
    );
    const body = res.Body as Readable | undefined;
    if (!body) throw new TypedError(FailureType.StorageRequestFailed, `storage ${this.name}: download of ${location} returned no body; retry`);
    if (res.ContentLength !== undefined && res.ContentLength !== meta.bytes) {
      body.destroy();
      throw downloadMismatch(this.name, r.key, location, [`size ${res.ContentLength} bytes, expected ${meta.bytes}`]);
    }
    await mkdir(dirname(dest), { recursive: true, mode: DIR_MODE });
    let got: Awaited<ReturnType<typeof streamToTemp>>;
    try {
      got = await streamToTemp(body, dest, onProgress);
    } catch (err) {
      // The SDK validates full-object checksums S3 returns; a failure there is corruption, not a network blip.
      if (/checksum mismatch/i.test((err as Error).message)) throw downloadMismatch(this.name, r.key, location, [(err as Error).message]);
      throw this.failure('download', r.key, err);
    }
    const problems = differences(meta, got);
    if (problems.length > 0) {
      await discard(got.tmp);
      throw downloadMismatch(this.name, r.key, location, problems);
    }
    await commit(got.tmp, dest);
    return meta;
  }

  async list(cluster: string): Promise<SnapshotMeta[]> {
    checkClusterName(cluster, this.where);
    const prefix = catalogPrefix(this.cfg.prefix, cluster);
    const catalogKeys: string[] = [];
    let token: string | undefined;
    do {
      const page = await this.call('list the catalog', prefix, () =>
        this.s3.send(new ListObjectsV2Command({ Bucket: this.cfg.bucket, Prefix: prefix, ContinuationToken: token })),
      );
      for (const o of page.Contents ?? []) if (o.Key) catalogKeys.push(o.Key);
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);

    const entries = await mapLimit(catalogKeys, CATALOG_READS, async (catalogKey) => {
      const key = keyOfCatalogEntry(this.cfg.prefix, cluster, catalogKey);
      if (!key) {
        this.warn(`${this.where}: ${this.location(catalogKey)} is not a catalog entry name; ignored`);
        return undefined;
      }
      // Deleted between listing and reading (retention running elsewhere): simply not there any more.
      const text = await this.readText(catalogKey).catch((err: unknown) => {
        if (isMissingObject(err)) return undefined;
        throw this.failure('read the catalog entry', catalogKey, err);
      });
      if (text === undefined) return undefined;
      const parsed = parseCatalogEntry(text, key);
      if (typeof parsed === 'string' || parsed.cluster !== cluster) {
        const why = typeof parsed === 'string' ? parsed : `names cluster ${parsed.cluster}`;
        this.warn(`${this.where}: catalog entry ${this.location(catalogKey)} skipped: ${why}; fix or delete it`);
        return undefined;
      }
      return parsed;
    });
    return entries.filter((e): e is SnapshotMeta => e !== undefined).sort(newestFirst);
  }

  async delete(key: string): Promise<void> {
    const r = resolveKey(this.cfg.prefix, key, this.where);
    // Catalog entry first: a crash in between leaves an uncataloged object, never a dangling entry.
    await this.call('delete the catalog entry', r.catalogKey, () => this.s3.send(new DeleteObjectCommand({ Bucket: this.cfg.bucket, Key: r.catalogKey })));
    await this.deleteObject(r.key);
  }

  private async deleteObject(key: string): Promise<void> {
    await this.call('delete', key, () => this.s3.send(new DeleteObjectCommand({ Bucket: this.cfg.bucket, Key: key })));
  }


  private async catalogEntryFor(r: ResolvedKey): Promise<SnapshotMeta> {
    const text = await this.call('read the catalog entry', r.catalogKey, () => this.readText(r.catalogKey), () =>
      notFound(this.name, r.key, 'not in the catalog (never verified, or deleted by retention)'),
    );
    const parsed = parseCatalogEntry(text, r.key);
    if (typeof parsed === 'string') throw notFound(this.name, r.key, `its catalog entry ${this.location(r.catalogKey)} is damaged (${parsed})`);
    return parsed;
  }

  private async readText(key: string): Promise<string> {
    const res = await this.s3.send(new GetObjectCommand({ Bucket: this.cfg.bucket, Key: key }));
    return (await res.Body?.transformToString('utf8')) ?? '';
  }

  /** Runs an S3 call; a missing object becomes `onMissing()`, anything else an error naming the operation and object. */
  private async call<T>(what: string, key: string, run: () => Promise<T>, onMissing?: () => Error): Promise<T> {
    try {
      return await run();
    } catch (err) {
      if (onMissing && isMissingObject(err)) throw onMissing();
      throw this.failure(what, key, err);
    }
  }

  private failure(what: string, key: string, err: unknown, cleanup?: string): Error {
    if (err instanceof Error && 'type' in err && typeof err.type === 'string') return err; // already typed
    const unreachable = describeUnreachable(err, this.endpoint);
    if (unreachable.kind !== 'other') {
      // Typed, so a restore can take the same snapshot from the next storage instead of failing.
      return fail(
        FailureType.StorageUnreachable,
        `storage ${this.name}: ${what} ${this.location(key)} failed: cannot reach ${this.endpoint}: ${unreachable.kind} (${unreachable.code})${cleanup ? `; ${cleanup}` : ''}; check the endpoint and region in the config, the network path from the worker and whether the storage is up, then retry`,
        { storage: this.name, unreachable: unreachable.kind, code: unreachable.code },
      );
    }
    const e = err as Error & { $metadata?: { httpStatusCode?: number } };
    const status = e.$metadata?.httpStatusCode ? ` (HTTP ${e.$metadata.httpStatusCode})` : '';
    return new TypedError(
      FailureType.StorageRequestFailed,
      `storage ${this.name}: ${what} ${this.location(key)} failed: ${e.name ?? 'Error'}: ${e.message}${status}${cleanup ? `; ${cleanup}` : ''}; check the bucket, region, endpoint and the worker's AWS credentials, then retry`,
      { cause: err },
    );
  }
}


/**
 * The S3 SHA-256 checksum against the one computed while uploading. A snapshot that fits in
 * one part is one PutObject: the checksum is then base64 of the file's SHA-256. Larger ones
 * are multipart: a composite `base64(sha256(part digests))-N`.
 * moto 5.2.5 returns the composite digest on HEAD without the `-N` suffix and without
 * ChecksumType (GetObject and GetObjectAttributes do say COMPOSITE); AWS returns both.
 * So the digest is always checked, the part count and type whenever they are returned.
 */
function checksumProblems(head: HeadObjectCommandOutput, sent: Measured, partDigests: Buffer[], multipart: boolean): string[] {
  const expected = multipart ? compositeSha256(partDigests) : hexToBase64(sent.sha256);
  const shown = multipart ? `composite ${expected}-${partDigests.length}` : expected;
  const returned = head.ChecksumSHA256;
  if (!returned) return [`no SHA-256 checksum returned (expected ${shown}); the endpoint must support S3 additional checksums`];
  const m = /^([A-Za-z0-9+/]+={0,2})(?:-(\d+))?$/.exec(returned);
  if (!m) return [`SHA-256 checksum "${returned}" is not base64 (expected ${shown})`];
  const problems: string[] = [];
  if (m[1] !== expected) problems.push(`SHA-256 checksum ${returned}, expected ${shown}`);
  if (m[2] !== undefined && (!multipart || Number(m[2]) !== partDigests.length)) {
    problems.push(`checksum covers ${m[2]} parts, expected ${multipart ? partDigests.length : 'a single-part object'}`);
  }
  const type = head.ChecksumType;
  if (type !== undefined && type !== (multipart ? 'COMPOSITE' : 'FULL_OBJECT')) {
    problems.push(`checksum type ${type}, expected ${multipart ? 'COMPOSITE' : 'FULL_OBJECT'}`);
  }
  return problems;
}

function isMissingObject(err: unknown): boolean {
  const e = err as { name?: string; $metadata?: { httpStatusCode?: number } };
  if (e?.name === 'NoSuchBucket') return false;
  return e?.name === 'NoSuchKey' || e?.name === 'NotFound' || e?.$metadata?.httpStatusCode === 404;
}
