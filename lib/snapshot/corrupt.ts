/** Stable codes for SnapshotCorruptError.reason. */
export const SnapshotCorruptReason = {
  Empty: 'empty',
  NotGzip: 'not-gzip',
  BadGzip: 'bad-gzip',
  Truncated: 'truncated',
  TrailingData: 'trailing-data',
  BadTar: 'bad-tar',
  UnexpectedEntry: 'unexpected-entry',
  EntryOrder: 'entry-order',
  MissingEntry: 'missing-entry',
  MissingSealedSums: 'missing-sealed-sums',
  EmptySealedSums: 'empty-sealed-sums',
  BadMeta: 'bad-meta',
  BadSha256Sums: 'bad-sha256sums',
  Sha256SumsMismatch: 'sha256sums-mismatch',
  SizeMismatch: 'size-mismatch',
  BadState: 'bad-state',
} as const;
export type SnapshotCorruptReasonCode = (typeof SnapshotCorruptReason)[keyof typeof SnapshotCorruptReason];

/** The archive is not a complete, intact snapshot. `reason` is one of SnapshotCorruptReason; branch on it, not on the message. */
export class SnapshotCorruptError extends Error {
  constructor(
    readonly reason: string,
    message: string,
  ) {
    super(message);
    this.name = 'SnapshotCorruptError';
  }
}
