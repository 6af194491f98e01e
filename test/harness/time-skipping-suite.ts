import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { SecdrConfig } from '../../lib/config/schema';
import { dataConverterFor } from '../../lib/temporal/connect';
import { testConfig } from './config';
import { tempDir } from './temp';
import { timeSkippingEnv } from './temporal';

/**
 * Registers before/after hooks for a workflow suite: a temp dir, a test config
 * (with `overrides(dir)`), and a time-skipping environment using that config's codec.
 */
export function timeSkippingSuite(prefix: string, overrides: (dir: string) => Record<string, unknown> = () => ({})) {
  const tmp = tempDir(prefix);
  const config: SecdrConfig = testConfig(tmp.dir, overrides(tmp.dir));
  const suite = { dir: tmp.dir, config, env: undefined as unknown as TestWorkflowEnvironment };
  before(async () => {
    suite.env = await timeSkippingEnv(dataConverterFor(config));
  });
  after(async () => {
    await suite.env?.teardown();
    tmp.cleanup();
  });
  return suite;
}
