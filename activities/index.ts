import type { SecdrConfig } from '../lib/config/schema';
import { createSmokeActivities } from './smoke';

/** Every activity the worker registers, built from the worker's own config (credentials never travel in workflow history). */
export function createActivities(_config: SecdrConfig) {
  return {
    ...createSmokeActivities(),
  };
}

export type SecdrActivities = ReturnType<typeof createActivities>;
