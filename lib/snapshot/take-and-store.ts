import { Readable } from 'node:stream';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { performance } from 'node:perf_hooks';
import { fail, FailureType } from '../fail';
import type { PutResult, SnapshotMeta, SnapshotStore, StreamingPut } from '../storage/snapshot-store';
import { fetchWithCa } from '../vault/health';
import { SnapshotCorruptError } from './corrupt';
import type { SnapshotInspection } from './inspection';
import { LocalCopy } from './local-copy';
import { OnePassError, streamThroughVerifier, type SnapshotSink } from './one-pass';
import { TypedError } from '../failure-types';

export interface TakeAndStoreOptions {
  /** The active node. */
  address: string;
  /** Vault token with read on sys/storage/raft/snapshot; used for this request only. */
  token: string;
  caFile?: string;
  cluster: string;
  /** `vault-<cluster>-YYYYMMDD-HHMMSS.snap` */
  fileName: string;
  takenAt: Date;
  /** Every storage the snapshot goes to, written at the same time. */
  stores: SnapshotStore[];
  /** Absolute path for a staging copy written in the same pass; none when omitted. */
  localCopy?: string;
  canary?: { nonce: string; writtenAt: string };
  onBytes?: (bytes: number) => void;
  signal?: AbortSignal;
  /** Policy named in a permission error. */
  policy?: string;
}

export interface StoredSnapshot {
  bytes: number;
  sha256: string;
  raftIndex: number;
  raftTerm: number;
  keys: number;
  uploads: (PutResult & { storage: string })[];
  localCopy?: string;
  /** Milliseconds: the single pass (stream, verify, upload parts), then completing, reading back and cataloging. */
  phases: { streamMs: number; finishMs: number };
}

/**
 * The snapshot pipeline in one pass: `GET /v1/sys/storage/raft/snapshot` streams straight
 * into every storage's upload (and the local copy, when kept) while the archive is verified
 * and hashed. Only when the verifier accepted the whole archive are the uploads completed,
 * read back and cataloged; a corrupt or cut stream aborts every upload and leaves no object,
 * no catalog entry and no local file. A storage failing mid-stream is given up alone: the
 * others finish, are cataloged, and the run still fails naming the storage that did not. No file is handed
 * between activities, so any worker can run it.
 */
export async function takeAndStore(o: TakeAndStoreOptions): Promise<StoredSnapshot> {
  const path = 'sys/storage/raft/snapshot';
  const res = await fetchWithCa(`${o.address}/v1/${path}`, o.caFile, 6 * 3600_000, {
    headers: { 'X-Vault-Token': o.token },
    signal: o.signal,
  });
  if (res.status === 307 || res.status === 308) {
    await res.body?.cancel();
    throw fail(
      FailureType.VaultNoActiveNode,
      `${o.address} is no longer the active node (answered ${res.status}); the retry picks the new leader`,
    );
  }
  if (res.status !== 200 || !res.body) {
    const text = await res.text().catch(() => '');
    // Loaded only here: node-vault and the config schemas cost start-up time the pass itself never needs.
    const { vaultFailure } = await import('../vault/client');
    throw vaultFailure({ response: { statusCode: res.status, body: safeJson(text) } }, 'raft snapshot', path, o.policy);
  }
  const target = { key: o.fileName, cluster: o.cluster, takenAt: o.takenAt.toISOString() };
  const puts: StreamingPut[] = [];
  try {
    for (const store of o.stores) puts.push(await store.begin(target));
  } catch (err) {
    await res.body.cancel();
    await Promise.all(puts.map((p) => p.abort()));
    throw err;
  }
  const copy = o.localCopy ? new LocalCopy(o.localCopy) : undefined;
  const sinks: SnapshotSink[] = copy ? [...puts, copy] : puts;

  const t0 = performance.now();
  let inspection: SnapshotInspection;
  let droppedStores: { store: string; err: Error; cleanup: string }[];
  try {
    const pass = await streamThroughVerifier(Readable.fromWeb(res.body as unknown as WebReadableStream), o.fileName, sinks, {
      onBytes: o.onBytes,
      // One storage failing mid-stream (S3 down) must not cost the copy in the others: the pass
      // goes on while any storage is still writing, and only those are finished and cataloged.
      continueWhile: (alive) => alive.some((i) => i < puts.length),
    });
    inspection = pass.inspection;
    droppedStores = pass.dropped.map((d) => ({ store: o.stores[d.index]?.name ?? 'staging copy', err: d.error as Error, cleanup: d.cleanup }));
  } catch (err) {
    throw passFailure(err, o);
  }
  const t1 = performance.now();
  const lost = new Set(droppedStores.map((d) => d.store));

  const meta: SnapshotMeta = {
    key: o.fileName,
    cluster: o.cluster,
    sha256: inspection.archiveSha256,
    bytes: inspection.archiveBytes,
    raftIndex: inspection.index,
    raftTerm: inspection.term,
    takenAt: target.takenAt,
    verifiedAt: new Date().toISOString(),
    canaryNonce: o.canary?.nonce,
    canaryWrittenAt: o.canary?.writtenAt,
    storage: '',
  };
  const finished = await Promise.allSettled(
    // A storage given up mid-stream is not finished (its upload was aborted); it counts as failed below.
    puts.map((p, i) => (lost.has(o.stores[i].name) ? Promise.resolve(undefined) : p.finish({ ...meta, storage: o.stores[i].name }))),
  );
  const failed = [
    ...droppedStores.map((d) => ({ store: d.store, err: d.err, note: d.cleanup })),
    ...finished.flatMap((f, i) => (f.status === 'rejected' && !lost.has(o.stores[i].name) ? [{ store: o.stores[i].name, err: f.reason as Error, note: '' }] : [])),
  ];
  if (failed.length > 0) {
    const cleanup = copy ? await copy.abort() : undefined;
    const kept = o.stores.filter((s, i) => finished[i].status === 'fulfilled' && !lost.has(s.name)).map((s) => s.name);
    if (failed.length === 1 && !cleanup && kept.length === 0 && !failed[0].note) throw failed[0].err;
    const what = failed.map((f) => `${f.err.message}${f.note ? `; ${f.note}` : ''}`).join(' | ');
    const keptNote = kept.length > 0 ? `; the verified snapshot is stored and cataloged in ${kept.join(', ')}` : '';
    throw new TypedError(FailureType.StorageRequestFailed, `${what}${keptNote}${cleanup ? `; ${cleanup}` : ''}`, { cause: failed[0].err });
  }
  const localCopy = copy ? await copy.keep() : undefined;
  return {
    bytes: meta.bytes,
    sha256: meta.sha256,
    raftIndex: meta.raftIndex,
    raftTerm: meta.raftTerm,
    keys: inspection.keys,
    uploads: finished.map((f, i) => ({ ...(f as PromiseFulfilledResult<PutResult>).value, storage: o.stores[i].name })),
    localCopy,
    phases: { streamMs: t1 - t0, finishMs: performance.now() - t1 },
  };
}

function passFailure(err: unknown, o: TakeAndStoreOptions): Error {
  if (!(err instanceof OnePassError)) return err as Error;
  const cleanup = err.cleanup.length > 0 ? `; ${err.cleanup.join('; ')}` : '';
  if (err.cause instanceof SnapshotCorruptError) {
    return fail(
      FailureType.SnapshotStreamIncomplete,
      `${err.cause.message} (as received from ${o.address}, ${err.bytes} bytes)${cleanup}; nothing was stored or cataloged; taking the snapshot again`,
      { reason: err.cause.reason },
    );
  }
  if (err.stage === 'source') {
    return fail(
      FailureType.SnapshotStreamIncomplete,
      `snapshot ${o.fileName}: stream from ${o.address} broke after ${err.bytes} bytes (${(err.cause as Error)?.message})${cleanup}; nothing was stored or cataloged; retrying`,
    );
  }
  return new TypedError(FailureType.StorageRequestFailed, `snapshot ${o.fileName}: ${err.message}; nothing was cataloged; retrying`, { cause: err.cause });
}

function safeJson(text: string): { errors?: string[] } {
  try {
    return JSON.parse(text) as { errors?: string[] };
  } catch {
    return { errors: text ? [text.slice(0, 200)] : [] };
  }
}
