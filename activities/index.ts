import type { SecdrConfig } from '../lib/config/schema';
import { createAlertActivities } from './alertmanager';
import { createEmergencyWebhookActivities } from './emergency-webhook';
import { createLogActivities } from './logs';
import { createPlatformActivities } from './platform';
import { createProcedureActivities } from './procedure';
import { createSmokeActivities } from './smoke';
import { createStorageActivities } from './storage';
import { createVaultActivities } from './vault';

/** Every activity the worker registers, built from the worker's own config (credentials never travel in workflow history). */
export function createActivities(config: SecdrConfig) {
  return {
    ...createSmokeActivities(),
    ...createVaultActivities(config),
    ...createStorageActivities(config),
    ...createProcedureActivities(config),
    ...createAlertActivities(config),
    ...createEmergencyWebhookActivities(config),
    ...createLogActivities(config),
    ...createPlatformActivities(config),
  };
}

export type SecdrActivities = ReturnType<typeof createActivities>;
