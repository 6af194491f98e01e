// The snapshot-store contract, apart from the factory (snapshot-store.ts), so the stores that
// implement it import it without importing the factory that imports them.

/** What the catalog records about one verified snapshot. No secrets: the canary nonce is a random marker. */
export interface SnapshotMeta {
  /** Object key, `<prefix><cluster>/vault-<cluster>-YYYYMMDD-HHMMSS.snap`; `put` also accepts the bare file name. */
  key: string;
  cluster: string;
  /** Hex SHA-256 of the archive. */
  sha256: string;
  bytes: number;
  raftIndex: number;
  raftTerm: number;
  /** ISO time the snapshot was taken; the catalog is ordered by it. */
  takenAt: string;
  verifiedAt: string;
  canaryNonce?: string;
  canaryWrittenAt?: string;
  /** Name of the store holding it. */
  storage: string;
}

export interface PutResult {
  key: string;
  bytes: number;
  /** `s3://bucket/key` or an absolute path. */
  location: string;
  /** KMS key the storage reported on read-back (S3 only). */
  sseKmsKeyId?: string;
  /** The storage's SHA-256 checksum as read back (base64; S3 multipart: composite of the parts). */
  checksumSha256?: string;
}

/** What a store needs before the first byte of a snapshot arrives. */
export interface SnapshotTarget {
  /** `vault-<cluster>-YYYYMMDD-HHMMSS.snap` (bare file name or full key). */
  key: string;
  cluster: string;
  /** ISO time the snapshot was taken. */
  takenAt: string;
  /** Known up front only when a finished file is uploaded; stored as object metadata when given. */
  sha256?: string;
  raftIndex?: number;
}

/**
 * One snapshot being stored while it streams (SnapshotStore.begin). Nothing is visible under
 * its key, and no catalog entry exists, until `finish`; `abort` leaves nothing behind.
 */
export interface StreamingPut {
  /** Takes the next bytes of the archive; resolves when the store can take more (backpressure). */
  write(chunk: Buffer): Promise<void>;
  /**
   * Call only after the archive verified: completes the upload, reads it back (size, SHA-256,
   * for S3 the checksum and KMS key) against `meta`, and only then writes the catalog entry.
   * A read-back mismatch removes the object and throws UploadMismatch.
   */
  finish(meta: SnapshotMeta): Promise<PutResult>;
  /** Discards everything written (aborts the multipart upload, removes the partial file); returns what happened, for messages. */
  abort(): Promise<string>;
}

export interface SnapshotStore {
  readonly name: string;
  /**
   * Starts storing a snapshot whose bytes are still arriving: the one-pass pipeline writes the
   * Vault stream into every store at once and calls `finish` only after the archive verified.
   * Removes a catalog entry left for the same key by an earlier attempt first.
   * onProgress(bytes) for heartbeats.
   */
  begin(target: SnapshotTarget, onProgress?: (bytes: number) => void): Promise<StreamingPut>;
  /**
   * Uploads the local file under key, then reads it back (HEAD) and checks size, sha256 and (S3)
   * SSE-KMS key id. Throws an UploadMismatch failure otherwise. Then records meta in the catalog.
   * onProgress(bytes) for heartbeats.
   */
  put(file: string, meta: SnapshotMeta, onProgress?: (bytes: number) => void): Promise<PutResult>;
  /** Downloads to a local path (streaming, flat memory), verifying size + sha256 against the catalog entry. */
  get(key: string, dest: string, onProgress?: (bytes: number) => void): Promise<SnapshotMeta>;
  /** Catalog of verified snapshots for a cluster, newest first (by takenAt). */
  list(cluster: string): Promise<SnapshotMeta[]>;
  /** Removes the catalog entry first, then the object, so the catalog never names a missing object. */
  delete(key: string): Promise<void>;
}

/** Options shared by the store implementations. */
export interface StoreOptions {
  /** Where damaged catalog entries are reported (they are skipped, not fatal). Default: console.warn. */
  warn?: (message: string) => void;
}
