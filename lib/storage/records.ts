import { createHash } from 'node:crypto';
import { mkdir, readdir, readFile, rm } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { DeleteObjectCommand, GetObjectCommand, ListObjectsV2Command, NoSuchKey, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import type { StorageConfig } from '../config/schema';
import { fail, FailureType } from '../fail';
import { DIR_MODE, writeFileAtomic } from './files';

/**
 * Small records secdr keeps beside the snapshots, in the same storage (so the evidence
 * for an audit and the state that must survive a worker restart live in one place):
 * `<prefix>secdr-records/<path>`. Used for the last-success time per procedure and for
 * drill reports. Same encryption as the snapshots (SSE-KMS on S3, owner-only files).
 */
export interface RecordStore {
  readonly name: string;
  /** Writes `body` under `path`; returns the body's hex SHA-256. */
  write(path: string, body: string): Promise<{ location: string; sha256: string }>;
  /** The record's text, or undefined when there is none. */
  read(path: string): Promise<string | undefined>;
  /** Paths (relative to the records root) that start with `prefix`. */
  list(prefix: string): Promise<string[]>;
  /** Deletes the record; nothing happens when there is none (drill-evidence retention). */
  remove(path: string): Promise<void>;
}

const ROOT = 'secdr-records/';
const RECORD_PATH = /^[a-z0-9][a-z0-9._/-]{0,250}$/;

function checkPath(path: string, storage: string): void {
  if (!RECORD_PATH.test(path) || path.includes('..')) {
    throw fail(FailureType.InvalidInput, `record path "${path}" for storage ${storage} must be lower-case letters, digits, ".", "_", "-" and "/" (no "..")`);
  }
}

const sha256 = (body: string) => createHash('sha256').update(body).digest('hex');

class S3RecordStore implements RecordStore {
  readonly name: string;
  private readonly s3: S3Client;
  constructor(private readonly cfg: Extract<StorageConfig, { type: 's3' }>) {
    this.name = cfg.name;
    this.s3 = new S3Client({ region: cfg.region, endpoint: cfg.endpoint, forcePathStyle: cfg.forcePathStyle });
  }
  private key(path: string): string {
    checkPath(path, this.name);
    return `${this.cfg.prefix}${ROOT}${path}`;
  }
  async write(path: string, body: string) {
    const key = this.key(path);
    const digest = sha256(body);
    await this.s3.send(
      new PutObjectCommand({
        Bucket: this.cfg.bucket,
        Key: key,
        Body: body,
        ContentType: path.endsWith('.json') ? 'application/json' : 'text/plain; charset=utf-8',
        ServerSideEncryption: 'aws:kms',
        SSEKMSKeyId: this.cfg.kmsKeyId,
        ChecksumSHA256: Buffer.from(digest, 'hex').toString('base64'),
      }),
    );
    return { location: `s3://${this.cfg.bucket}/${key}`, sha256: digest };
  }
  async read(path: string) {
    try {
      const got = await this.s3.send(new GetObjectCommand({ Bucket: this.cfg.bucket, Key: this.key(path) }));
      return await got.Body!.transformToString();
    } catch (err) {
      if (err instanceof NoSuchKey || (err as { name?: string }).name === 'NoSuchKey') return undefined;
      throw err;
    }
  }
  async list(prefix: string) {
    const base = `${this.cfg.prefix}${ROOT}`;
    const out: string[] = [];
    let token: string | undefined;
    do {
      const page = await this.s3.send(new ListObjectsV2Command({ Bucket: this.cfg.bucket, Prefix: `${base}${prefix}`, ContinuationToken: token }));
      for (const o of page.Contents ?? []) if (o.Key) out.push(o.Key.slice(base.length));
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
    return out.sort();
  }
  async remove(path: string) {
    await this.s3.send(new DeleteObjectCommand({ Bucket: this.cfg.bucket, Key: this.key(path) }));
  }
}

class LocalRecordStore implements RecordStore {
  readonly name: string;
  private readonly root: string;
  constructor(cfg: Extract<StorageConfig, { type: 'local' }>) {
    this.name = cfg.name;
    this.root = join(resolve(cfg.dir), ROOT);
  }
  private file(path: string): string {
    checkPath(path, this.name);
    return join(this.root, ...path.split('/'));
  }
  async write(path: string, body: string) {
    const file = this.file(path);
    await mkdir(dirname(file), { recursive: true, mode: DIR_MODE });
    await writeFileAtomic(file, body);
    return { location: file, sha256: sha256(body) };
  }
  async read(path: string) {
    try {
      return await readFile(this.file(path), 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
  }
  async list(prefix: string) {
    let names: string[];
    try {
      names = (await readdir(this.root, { recursive: true, withFileTypes: true }))
        .filter((d) => d.isFile() && !d.name.endsWith('.partial'))
        .map((d) => join(d.parentPath, d.name).slice(this.root.length).split('\\').join('/'));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw err;
    }
    return names.filter((n) => n.startsWith(prefix)).sort();
  }
  async remove(path: string) {
    await rm(this.file(path), { force: true });
  }
}

export function createRecordStore(cfg: StorageConfig): RecordStore {
  return cfg.type === 's3' ? new S3RecordStore(cfg) : new LocalRecordStore(cfg);
}
