import type { ActivityOptions, LocalActivityOptions } from '@temporalio/workflow';
import { FailureType } from '../lib/failure-types';

/**
 * Named activity-option profiles. Every profile has an explicit
 * startToCloseTimeout and bounded retries; streaming steps heartbeat; destructive
 * steps never rely on unlimited retries.
 */
export const profiles = {
  /** Quick API calls (health, canary, status): seconds, a handful of retries. */
  quick: {
    startToCloseTimeout: '30 seconds',
    retry: {
      initialInterval: '1 second',
      maximumInterval: '10 seconds',
      maximumAttempts: 5,
      nonRetryableErrorTypes: [FailureType.InvalidInput, FailureType.VaultPermissionDenied, FailureType.VaultUninitialized],
    },
  },
  /** Finding the active node: a sealed or uninitialised cluster is refused at once, not retried. */
  preflight: {
    startToCloseTimeout: '30 seconds',
    retry: {
      initialInterval: '2 seconds',
      maximumAttempts: 3,
      nonRetryableErrorTypes: [FailureType.InvalidInput, FailureType.VaultSealed, FailureType.VaultUninitialized],
    },
  },
  /** Streaming a snapshot or an object: long, heartbeating so a dead worker is noticed in a minute. */
  streaming: {
    startToCloseTimeout: '2 hours',
    heartbeatTimeout: '1 minute',
    retry: {
      initialInterval: '5 seconds',
      backoffCoefficient: 2,
      maximumAttempts: 3,
      nonRetryableErrorTypes: [
        FailureType.InvalidInput,
        FailureType.VaultPermissionDenied,
        FailureType.SnapshotCorrupt,
        FailureType.SnapshotNotFound,
        FailureType.VaultSealed,
        FailureType.VaultUninitialized,
      ],
    },
  },
  /** Init + force-restore of a target: destructive, so one attempt; the workflow decides what next. */
  destructive: {
    startToCloseTimeout: '1 hour',
    heartbeatTimeout: '2 minutes',
    retry: { maximumAttempts: 1 },
  },
  /**
   * Taking a restore target out of service (seal/stop) or bringing it back (start/restart):
   * minutes at most, a few retries (each step is idempotent).
   */
  targetLifecycle: {
    startToCloseTimeout: '5 minutes',
    retry: { initialInterval: '2 seconds', maximumAttempts: 3, nonRetryableErrorTypes: [FailureType.InvalidInput, FailureType.VaultPermissionDenied] },
  },
  /** Verification after restore: the restored data may need a moment to apply. */
  verify: {
    startToCloseTimeout: '1 minute',
    retry: {
      initialInterval: '2 seconds',
      backoffCoefficient: 1.5,
      maximumInterval: '15 seconds',
      maximumAttempts: 10,
      // Sealed goes back to the workflow, which waits for unseal instead of burning retries.
      nonRetryableErrorTypes: [FailureType.InvalidInput, FailureType.VaultPermissionDenied, FailureType.VaultSealed],
    },
  },
  /** Retention deletes objects: bounded, and refusals are final. */
  retention: {
    // Lists and deletes of a few dozen objects; short, so a lost worker is noticed quickly (no heartbeat).
    startToCloseTimeout: '3 minutes',
    retry: { maximumAttempts: 3, nonRetryableErrorTypes: [FailureType.RetentionRefused, FailureType.InvalidInput] },
  },
  /**
   * Stopping or starting a component through its platform adapter (lib/platform/): the
   * adapters are idempotent and wait for readiness themselves (a Kubernetes rollout takes
   * minutes), so a few attempts; a misconfigured component is final. The activities heartbeat
   * every 5 s, so a worker that dies mid-stop is noticed in 30 s, not 15 minutes.
   */
  platform: {
    startToCloseTimeout: '15 minutes',
    heartbeatTimeout: '30 seconds',
    retry: {
      initialInterval: '5 seconds',
      backoffCoefficient: 2,
      maximumAttempts: 3,
      nonRetryableErrorTypes: [FailureType.InvalidInput],
    },
  },
  /**
   * Waiting for a notification to arrive at a receiver (alerting drill): the activity polls and
   * heartbeats and gives up by itself at the drill's hard limit (at most 10 minutes); one retry covers a lost worker.
   */
  delivery: {
    startToCloseTimeout: '15 minutes',
    heartbeatTimeout: '30 seconds',
    retry: { maximumAttempts: 2, nonRetryableErrorTypes: [FailureType.AlertNotDelivered, FailureType.InvalidInput] },
  },
  /**
   * One attempt whose typed outcome the workflow reads (a renewal while the CA is down must
   * fail with CaUnavailable): a retry would only hide the outcome or turn it into a hang.
   */
  probe: {
    startToCloseTimeout: '1 minute',
    retry: { maximumAttempts: 1 },
  },
  /**
   * Installing a renewed certificate and waiting until the endpoint serves it (CA-outage drill):
   * heartbeats while it polls, so a killed worker is noticed in 30 s; one retry re-issues and
   * installs again, which is safe. Chain and root refusals are final.
   */
  install: {
    startToCloseTimeout: '15 minutes',
    heartbeatTimeout: '30 seconds',
    retry: {
      maximumAttempts: 2,
      nonRetryableErrorTypes: [FailureType.InvalidInput, FailureType.RootChanged, FailureType.ChainInvalid, FailureType.CaUnavailable],
    },
  },
  /** Reports, metrics and alerts: side channels that must not fail the procedure for long. */
  sideEffect: {
    startToCloseTimeout: '1 minute',
    retry: { initialInterval: '2 seconds', maximumAttempts: 5 },
  },
} as const satisfies Record<string, ActivityOptions>;

/**
 * Local-activity profiles: short steps that run on the worker running the workflow, without a
 * trip through the task queue (no file handed to another host, nothing long).
 */
export const localProfiles = {
  /** The frame's epilogue (outcome record, report files): as sideEffect, locally. */
  epilogue: {
    startToCloseTimeout: '1 minute',
    retry: { initialInterval: '2 seconds', maximumAttempts: 5 },
  },
} as const satisfies Record<string, LocalActivityOptions>;
