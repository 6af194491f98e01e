import { ActivityFailure, ApplicationFailure, ChildWorkflowFailure, TimeoutFailure } from '@temporalio/common';
import { FailureType, NON_RETRYABLE, type FailureTypeName } from './failure-types';

/**
 * Builds a typed ApplicationFailure. `nonRetryable` defaults from the type's
 * classification so callers cannot forget it. `details` must never hold secrets.
 * Safe in workflow code (no Node built-ins).
 */
export function fail(type: FailureTypeName, message: string, details?: Record<string, unknown>): ApplicationFailure {
  return ApplicationFailure.create({
    type,
    message,
    nonRetryable: NON_RETRYABLE.includes(type),
    details: details ? [details] : undefined,
  });
}

/** The failure that says what went wrong: an activity's or child's own cause, not the generic wrapper. */
export function innermost(err: unknown): unknown {
  let e = err;
  while ((e instanceof ActivityFailure || e instanceof ChildWorkflowFailure) && e.cause) e = e.cause;
  return e;
}

/** The typed failure's `type`, seen through ActivityFailure/ChildWorkflowFailure wrappers; workflows branch on it. */
export function failureTypeOf(err: unknown): string | undefined {
  const e = innermost(err);
  return e instanceof ApplicationFailure ? (e.type ?? undefined) : undefined;
}

/**
 * The message a person needs: the cause's, not "Activity task failed". A timeout says which
 * activity timed out ("restoreSnapshot: activity Heartbeat timeout"), since its own message cannot.
 */
export function failureMessage(err: unknown): string {
  const e = innermost(err);
  const text = e instanceof Error ? e.message : String(e);
  if (e instanceof TimeoutFailure && err instanceof ActivityFailure) return `${err.activityType}: ${text} (the worker running it was lost or stalled)`;
  return text;
}

export { FailureType };
