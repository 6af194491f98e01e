import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { checkStagedFile, differences, stagingChanged } from './integrity';
import type { PutResult, SnapshotMeta, SnapshotStore } from './types';

/**
 * Stores a finished snapshot file through the store's streaming put, hashing it on the way:
 * a file that no longer holds the verified bytes is discarded before anything is stored or
 * cataloged (the staging copy changed after verification).
 */
export async function putFile(
  store: Pick<SnapshotStore, 'begin'>,
  file: string,
  meta: SnapshotMeta,
  onProgress?: (bytes: number) => void,
): Promise<PutResult> {
  await checkStagedFile(file, meta);
  const put = await store.begin(meta, onProgress);
  const hash = createHash('sha256');
  let bytes = 0;
  try {
    for await (const chunk of createReadStream(file, { highWaterMark: 1024 * 1024 }) as AsyncIterable<Buffer>) {
      hash.update(chunk);
      bytes += chunk.length;
      await put.write(chunk);
    }
  } catch (err) {
    await put.abort();
    throw err;
  }
  const staged = differences(meta, { bytes, sha256: hash.digest('hex') });
  if (staged.length > 0) throw stagingChanged(file, meta, staged, await put.abort());
  return put.finish(meta);
}
