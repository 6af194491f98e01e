// Every workflow the secdr worker serves. Deterministic code only: Node built-ins
// and activity implementations are never imported here (see eslint.config.mjs).
export { smokeWorkflow } from './smoke';
export { vaultSnapshotWorkflow } from './vault-snapshot';
export { vaultRestoreWorkflow } from './vault-restore';
export { deadMansSwitchWorkflow } from './dead-mans-switch';
export { logFailoverWorkflow } from './log-failover';
export { caOutageWorkflow } from './ca-outage';
export { alertingDrillWorkflow } from './alerting-drill';
export { quarterlyDrillWorkflow } from './quarterly-drill';
