import { createWriteStream, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { once } from 'node:events';
import { rm } from 'node:fs/promises';
import { commit, DIR_MODE, FILE_MODE, fsyncPath } from '../storage/files';
import { removeDescribed } from '../storage/integrity';
import type { SnapshotSink } from './one-pass';
import { FailureType, TypedError } from '../failure-types';

/**
 * The staging copy of a snapshot, written in the same pass as the uploads (only when local
 * retention is configured): `<path>.partial` until `keep()` after verification, removed by
 * `abort()`, so a file under the real name was always verified.
 */
export class LocalCopy implements SnapshotSink {
  private readonly tmp: string;
  private readonly out;
  private error?: Error;

  constructor(readonly path: string) {
    this.tmp = `${path}.partial`;
    mkdirSync(dirname(path), { recursive: true, mode: DIR_MODE });
    this.out = createWriteStream(this.tmp, { mode: FILE_MODE });
    this.out.on('error', (err) => (this.error ??= err));
  }

  async write(chunk: Buffer): Promise<void> {
    if (this.error) throw this.failure(this.error);
    if (!this.out.write(chunk)) await once(this.out, 'drain').catch((err: Error) => Promise.reject(this.failure(err)));
  }

  /** After verification: flushes and renames the copy into place. */
  async keep(): Promise<string> {
    await new Promise<void>((resolve, reject) =>
      this.out.end((err?: Error | null) => (err ? reject(this.failure(err)) : resolve())),
    );
    if (this.error) throw this.failure(this.error);
    await fsyncPath(this.tmp);
    await commit(this.tmp, this.path);
    return this.path;
  }

  async abort(): Promise<string> {
    this.out.destroy();
    return removeDescribed(`the local copy ${this.tmp}`, () => rm(this.tmp, { force: true }));
  }

  private failure(err: Error): Error {
    return new TypedError(FailureType.StorageRequestFailed, `local copy ${this.tmp}: ${err.message}; check the staging directory (space, permissions)`, {
      cause: err,
    });
  }
}
