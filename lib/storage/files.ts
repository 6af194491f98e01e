import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { open, rename, rm, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { HashingStream } from './hashing';
import type { Measured } from './integrity';

/** Files hold Vault data (barrier-encrypted, but still sensitive): owner only. */
export const FILE_MODE = 0o600;
export const DIR_MODE = 0o700;

/** Flushes a file or directory to disk, so a rename after it survives a crash. */
export async function fsyncPath(path: string): Promise<void> {
  const fh = await open(path, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/**
 * Streams `source` into `<dest>.partial` while hashing it, and fsyncs it. The caller
 * checks the result and then `commit`s or `discard`s: `dest` never holds unchecked bytes.
 */
export async function streamToTemp(source: Readable, dest: string, onProgress?: (bytes: number) => void): Promise<Measured & { tmp: string }> {
  const tmp = `${dest}.partial`;
  const hasher = new HashingStream(0, onProgress);
  try {
    await pipeline(source, hasher, createWriteStream(tmp, { mode: FILE_MODE }));
    await fsyncPath(tmp);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
  return { tmp, bytes: hasher.bytes, sha256: hasher.sha256Hex() };
}

/** Renames the checked temporary file into place and makes the rename durable. */
export async function commit(tmp: string, dest: string): Promise<void> {
  await rename(tmp, dest);
  await fsyncPath(dirname(dest));
}

export async function discard(tmp: string): Promise<void> {
  await rm(tmp, { force: true });
}

/** Write-to-temp, fsync, rename: readers see the old content or the new, never half of it. */
export async function writeFileAtomic(path: string, data: string): Promise<void> {
  const tmp = `${path}.partial`;
  await writeFile(tmp, data, { mode: FILE_MODE });
  await fsyncPath(tmp);
  await commit(tmp, path);
}

/** Size and hex SHA-256 of a file, streamed. */
export async function hashFile(path: string): Promise<Measured> {
  const hash = createHash('sha256');
  let bytes = 0;
  for await (const chunk of createReadStream(path) as AsyncIterable<Buffer>) {
    hash.update(chunk);
    bytes += chunk.length;
  }
  return { bytes, sha256: hash.digest('hex') };
}

/** Removes a file and flushes its directory; a missing file is fine (deletes are retried). */
export async function removeDurably(path: string): Promise<void> {
  await rm(path, { force: true });
  try {
    await fsyncPath(dirname(path));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
}

export const isMissingFile = (err: unknown): boolean => (err as NodeJS.ErrnoException)?.code === 'ENOENT';
