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
  /** A Vault address could not be reached; details.unreachable says why: dns, refused, timeout, tls. */
  VaultUnreachable: 'VaultUnreachable',
  /** Vault answered a request with an unexpected status (not sealed, not denied); retryable. */
  VaultRequestFailed: 'VaultRequestFailed',
  /** The seal's KMS (transit, awskms) cannot be reached, so Vault cannot unseal; the message names the KMS address. */
  SealKmsUnavailable: 'SealKmsUnavailable',
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
  /** A snapshot storage (S3 endpoint) could not be reached: DNS, refused, timeout or TLS. Retryable; a restore then tries the next storage. */
  StorageUnreachable: 'StorageUnreachable',
  /** A storage call failed (an S3 error answer, a local disk write): retryable; the message names the storage and the fix. */
  StorageRequestFailed: 'StorageRequestFailed',
  /** A stored drill report is missing, or its SHA-256 is not the catalog's: the evidence changed after the drill wrote it. */
  EvidenceInvalid: 'EvidenceInvalid',
  /** A retention run would delete the newest verified snapshot or everything. */
  RetentionRefused: 'RetentionRefused',
  /** A restored cluster's data failed a check (canary, dynamic credentials). */
  VerificationFailed: 'VerificationFailed',
  /** The dead man's switch could not deliver its page; retryable, the switch keeps trying. */
  EmergencyWebhookFailed: 'EmergencyWebhookFailed',
  /** An SLO was breached; carries the measured value in details. */
  SloBreached: 'SloBreached',
  /** The CA refused the connection, timed out or answered 503 (sealed): renewals cannot happen. Retryable. */
  CaUnavailable: 'CaUnavailable',
  /** The CA answered a request with an error (not down, not sealed): retryable; the message has its answer. */
  CaRequestFailed: 'CaRequestFailed',
  /** The CA issues under a different root than the one recorded: trust stores need the new root. */
  RootChanged: 'RootChanged',
  /** cert-manager did not report a requested renewal's outcome (Issuing/Ready conditions) within the drill's limit. */
  RenewalNotReported: 'RenewalNotReported',
  /** A served certificate chain does not verify to the recorded root. */
  ChainInvalid: 'ChainInvalid',
  /** An endpoint did not complete a TLS handshake (refused, timed out, or not TLS). */
  EndpointNoTls: 'EndpointNoTls',
  /** An endpoint serves an expired (or not yet valid) certificate. */
  CertificateExpired: 'CertificateExpired',
  /** A procedure (snapshot, restore, drill) ended without reaching its goal; details carry its report. */
  ProcedureFailed: 'ProcedureFailed',
  /** An undo could not put back what a procedure changed: something is left changed (the message says what). */
  CompensationFailed: 'CompensationFailed',
  /** A procedure's report or outcome record could not be written: the run has no evidence. */
  ReportNotWritten: 'ReportNotWritten',
  /** A component (log backend, CA, target) did not stop, start or become ready through its platform adapter. */
  PlatformActionFailed: 'PlatformActionFailed',
  /** A log backend's query API failed or is not ready; retryable (the drill polls it). */
  LogBackendUnavailable: 'LogBackendUnavailable',
  /** Log lines handed to the shipper never reached a backend within the drill's limit: logs were lost. */
  LogsLost: 'LogsLost',
  /** The drill alert's route sends it nowhere, to a receiver other than the expected one, or it is silenced/inhibited; details name the route. */
  AlertRouteSwallowed: 'AlertRouteSwallowed',
  /** Alertmanager took the drill alert but no notification arrived at the receiver within the drill's limit. */
  AlertNotDelivered: 'AlertNotDelivered',
  /** Alertmanager's API failed or refused a request; retryable. */
  AlertmanagerUnavailable: 'AlertmanagerUnavailable',
  /** A drill that stops a component expected an alert or detector to fire (LogPipelineDown, the host-level detector's page) and it did not; the message names which and the fix. */
  AlertNotFired: 'AlertNotFired',
  /** Nobody approved a drill that needs approval within its limit: it did not run. */
  ApprovalTimedOut: 'ApprovalTimedOut',
  /** One or more drills of a quarterly run failed or did not run; the report says which. */
  DrillsFailed: 'DrillsFailed',
} as const;

export type FailureTypeName = (typeof FailureType)[keyof typeof FailureType];

/**
 * A typed failure without the Temporal SDK, for code the CLI loads at start-up (config, the
 * registry's input builders): loading @temporalio/common there would cost `secdr --help` its
 * start-up bar. Thrown in an activity, the SDK turns its `name` into the failure's type, so
 * profiles and workflows see the same type as from `fail()`.
 */
export class TypedError extends Error {
  constructor(
    readonly type: FailureTypeName,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = type;
  }
}

/** Bad configuration or input, named and with the fix in `message`; never retried. */
export const invalidInput = (message: string) => new TypedError(FailureType.InvalidInput, message);

/** Types no retry can fix; used in activity-option profiles. */
export const NON_RETRYABLE: FailureTypeName[] = [
  FailureType.InvalidInput,
  FailureType.VaultAlreadyInitialized,
  FailureType.VaultPermissionDenied,
  FailureType.SealKmsUnavailable,
  FailureType.SnapshotCorrupt,
  FailureType.SnapshotNotFound,
  FailureType.RetentionRefused,
  FailureType.RestoreRejected,
  FailureType.RootChanged,
  FailureType.ChainInvalid,
  FailureType.EndpointNoTls,
  FailureType.CertificateExpired,
  FailureType.RenewalNotReported,
  FailureType.ProcedureFailed,
  FailureType.AlertRouteSwallowed,
  FailureType.AlertNotDelivered,
  FailureType.ApprovalTimedOut,
  FailureType.DrillsFailed,
];
