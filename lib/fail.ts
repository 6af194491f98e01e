import { ActivityFailure, ApplicationFailure, ChildWorkflowFailure, TemporalFailure, TimeoutFailure } from '@temporalio/common';
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

/**
 * The failure that says what went wrong: an activity's or child's own cause, not the generic
 * wrapper. Also sees through the client's wrappers (WorkflowFailedError, WorkflowUpdateFailedError:
 * plain errors whose cause is the Temporal failure), so the CLI unwraps the same way, without
 * importing @temporalio/client here (workflow code uses this module).
 */
export function innermost(err: unknown): unknown {
  let e = err;
  const clientWrapper = (x: unknown): x is Error & { cause: TemporalFailure } => x instanceof Error && !(x instanceof TemporalFailure) && x.cause instanceof TemporalFailure;
  while (((e instanceof ActivityFailure || e instanceof ChildWorkflowFailure) && e.cause) || clientWrapper(e)) e = e.cause;
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
