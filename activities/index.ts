import type { SecdrConfig } from '../lib/config/schema';
import { createAlertingDrillActivities } from './alerting-drill';
import { createDrillEvidenceActivities } from './drill-evidence';
import { createAlertActivities } from './alertmanager';
import { createEmergencyWebhookActivities } from './emergency-webhook';
import { createLogActivities } from './logs';
import { createPkiActivities } from './pki';
import { createPlatformActivities } from './platform';
import { createProcedureActivities, type ProcedureKindOf } from './procedure';
import { createSmokeActivities } from './smoke';
import { createStagingActivities } from './staging';
import { createStorageActivities } from './storage';
import { createVaultActivities } from './vault';

/**
 * Every activity the worker registers, built from the worker's own config (credentials never
 * travel in workflow history); `kindOf` is the registry's lookup (procedures/procedureKind).
 */
export function createActivities(config: SecdrConfig, kindOf: ProcedureKindOf) {
  return {
    ...createSmokeActivities(),
    ...createVaultActivities(config),
    ...createStorageActivities(config),
    ...createStagingActivities(config),
    ...createProcedureActivities(config, kindOf),
    ...createAlertActivities(config),
    ...createAlertingDrillActivities(config),
    ...createDrillEvidenceActivities(config),
    ...createEmergencyWebhookActivities(config),
    ...createPlatformActivities(config),
    ...createLogActivities(config),
    ...createPkiActivities(config),
  };
}

export type SecdrActivities = ReturnType<typeof createActivities>;
