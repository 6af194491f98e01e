import { deadMansSwitchDefaults } from '../lib/config/schema';
import type { DeadMansSwitchInput } from '../workflows/dead-mans-switch';
import type { ProcedureEntry } from './types';

/**
 * The dead man's switch (docs/dead-mans-switch.md): one long-running workflow per config, started
 * by the first Watchdog delivery through `secdr webhook` (signal-with-start), never by a command
 * or a Schedule. Its id comes from the config, so every webhook process signals the same run.
 */
export const deadMansSwitch: ProcedureEntry<DeadMansSwitchInput> = {
  name: 'dead-mans-switch',
  kind: 'watch',
  workflowType: 'deadMansSwitchWorkflow',
  summary: "page the emergency webhook when Alertmanager's Watchdog heartbeat stops (docs/dead-mans-switch.md)",
  input: (config) => ({ windowSeconds: (config.deadMansSwitch ?? deadMansSwitchDefaults).windowSeconds }),
  singletonId: (config) => (config.deadMansSwitch ?? deadMansSwitchDefaults).workflowId,
  // A watch is one run per config, whatever the time: the configured id, else the default.
  workflowId: () => deadMansSwitchDefaults.workflowId,
};
