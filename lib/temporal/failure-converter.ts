import { DefaultFailureConverter } from '@temporalio/common';

/**
 * Failure messages and stack traces go into history as an encoded payload rather than
 * plain text, so they pass the encrypting codec like every other payload. Loaded by path
 * (`failureConverterPath`) because the workflow bundle needs it too; no Node built-ins.
 */
export const failureConverter = new DefaultFailureConverter({ encodeCommonAttributes: true });
