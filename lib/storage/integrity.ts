import { stat } from 'node:fs/promises';
import type { ApplicationFailure } from '@temporalio/common';
import { fail, FailureType } from '../fail';
import type { SnapshotMeta } from './types';

export interface Measured {
  bytes: number;
  /** hex */
  sha256: string;
}

/** Differences between what was expected and what was measured, as readable phrases; empty when equal. */
export function differences(expected: Measured, got: Measured): string[] {
  const out: string[] = [];
  if (expected.bytes !== got.bytes) out.push(`size ${got.bytes} bytes, expected ${expected.bytes}`);
  if (expected.sha256 !== got.sha256) out.push(`sha256 ${got.sha256}, expected ${expected.sha256}`);
  return out;
}

/** The staged file is not the snapshot that was verified: uploading it would catalog the wrong bytes. */
export function stagingChanged(file: string, meta: SnapshotMeta, problems: string[], cleanup?: string): ApplicationFailure {
  return fail(
    FailureType.SnapshotCorrupt,
    `snapshot ${meta.key}: staging file ${file} no longer matches the verified snapshot (${problems.join('; ')})${cleanup ? `; ${cleanup}` : ''}; it changed after verification: re-run the backup`,
    { key: meta.key, file, problems },
  );
}

/** The object read back differently from what was uploaded; nothing was cataloged. */
export function uploadMismatch(store: string, key: string, location: string, problems: string[], cleanup: string): ApplicationFailure {
  return fail(
    FailureType.UploadMismatch,
    `upload of ${key} to storage ${store} (${location}) did not read back as written: ${problems.join('; ')}; ${cleanup}; it was not cataloged: retry the upload and check the storage configuration (KMS key, bucket policy, endpoint)`,
    { store, key, location, problems },
  );
}

/** The downloaded bytes are not the ones the catalog says were verified. */
export function downloadMismatch(store: string, key: string, location: string, problems: string[]): ApplicationFailure {
  return fail(
    FailureType.SnapshotCorrupt,
    `snapshot ${key} in storage ${store}: download does not match the catalog (${problems.join('; ')}); the stored object changed after it was verified: use the previous snapshot and investigate ${location}`,
    { store, key, location, problems },
  );
}

export function notFound(store: string, key: string, what: string): ApplicationFailure {
  return fail(
    FailureType.SnapshotNotFound,
    `snapshot ${key} in storage ${store}: ${what}; list the catalog (\`secdr snapshot list\`) and pick a verified snapshot`,
    { store, key },
  );
}

/** Describes the outcome of removing a bad object, so a failed cleanup is reported, not swallowed. */
export async function removeDescribed(what: string, remove: () => Promise<unknown>): Promise<string> {
  try {
    await remove();
    return `${what} was removed`;
  } catch (err) {
    return `removing ${what} failed too (${(err as Error).message}): remove it by hand`;
  }
}

/** Checks the staged file exists and has the verified size before it is uploaded; returns the size. */
export async function checkStagedFile(file: string, meta: SnapshotMeta): Promise<number> {
  let size: number;
  try {
    size = (await stat(file)).size;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
      throw fail(FailureType.SnapshotNotFound, `snapshot ${meta.key}: staging file ${file} is missing; re-run the backup`, { key: meta.key, file });
    }
    throw err;
  }
  if (size !== meta.bytes) throw stagingChanged(file, meta, [`size ${size} bytes, expected ${meta.bytes}`]);
  return size;
}
