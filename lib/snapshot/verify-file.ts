import { createReadStream } from 'node:fs';
import { basename } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createSnapshotVerifier } from './archive-verifier';
import type { SnapshotInspection } from './inspection';

/** Streams a snapshot file through the verifier; stops reading at the first problem. */
export async function verifySnapshotFile(path: string): Promise<SnapshotInspection> {
  const { sink, result } = createSnapshotVerifier(basename(path));
  const stopReading = new AbortController();
  result.catch(() => stopReading.abort());
  const [inspection] = await Promise.all([
    result,
    pipeline(createReadStream(path), sink, { signal: stopReading.signal }),
  ]);
  return inspection;
}
