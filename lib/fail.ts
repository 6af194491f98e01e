import { ApplicationFailure } from '@temporalio/common';
import { FailureType, NON_RETRYABLE, type FailureTypeName } from './failure-types';

/**
 * Builds a typed ApplicationFailure. `nonRetryable` defaults from the type's
 * classification so callers cannot forget it. `details` must never hold secrets.
 */
export function fail(type: FailureTypeName, message: string, details?: Record<string, unknown>): ApplicationFailure {
  return ApplicationFailure.create({
    type,
    message,
    nonRetryable: NON_RETRYABLE.includes(type),
    details: details ? [details] : undefined,
  });
}

export { FailureType };
