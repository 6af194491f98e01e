/**
 * Stable failure type names. Activities throw `ApplicationFailure`s with one of these
 * `type`s; workflows branch on the type, never on message text. Safe to import from
 * workflow code (no Node built-ins).
 */
export const FailureType = {
  /** Bad configuration or input; retrying cannot help. */
  InvalidInput: 'InvalidInput',
  /** No reachable Vault node is the active one (all sealed, standby or down). */
  VaultNoActiveNode: 'VaultNoActiveNode',
  VaultSealed: 'VaultSealed',
  VaultUninitialized: 'VaultUninitialized',
  /** The target of a restore is already initialised: refusing to overwrite it. */
  VaultAlreadyInitialized: 'VaultAlreadyInitialized',
  /** Vault answered 403: the credential's policy lacks a capability. */
  VaultPermissionDenied: 'VaultPermissionDenied',
  /** The snapshot archive failed verification (truncated, hash mismatch, …). */
  SnapshotCorrupt: 'SnapshotCorrupt',
  SnapshotNotFound: 'SnapshotNotFound',
  /** The snapshot stream ended early or failed verification as received; taking it again may succeed. */
  SnapshotStreamIncomplete: 'SnapshotStreamIncomplete',
  /** Vault rejected a snapshot restore. */
  RestoreRejected: 'RestoreRejected',
  /** An uploaded object did not read back as written (size, checksum, KMS key). */
  UploadMismatch: 'UploadMismatch',
  /** A retention run would delete the newest verified snapshot or everything. */
  RetentionRefused: 'RetentionRefused',
  /** A restored cluster's data failed a check (canary, dynamic credentials). */
  VerificationFailed: 'VerificationFailed',
  /** The dead man's switch could not deliver its page; retryable, the switch keeps trying. */
  EmergencyWebhookFailed: 'EmergencyWebhookFailed',
  /** An SLO was breached; carries the measured value in details. */
  SloBreached: 'SloBreached',
} as const;

export type FailureTypeName = (typeof FailureType)[keyof typeof FailureType];

/** Types no retry can fix; used in activity-option profiles. */
export const NON_RETRYABLE: FailureTypeName[] = [
  FailureType.InvalidInput,
  FailureType.VaultAlreadyInitialized,
  FailureType.VaultPermissionDenied,
  FailureType.SnapshotCorrupt,
  FailureType.SnapshotNotFound,
  FailureType.RetentionRefused,
  FailureType.RestoreRejected,
];
