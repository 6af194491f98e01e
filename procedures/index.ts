import type { ProcedureEntry } from './types';
import { vaultRestore } from './vault-restore';
import { logFailover } from './log-failover';
import { caOutage } from './ca-outage';
import { alerting } from './alerting';
import { quarterly } from './quarterly';
import { vaultSnapshot } from './vault-snapshot';
import { deadMansSwitch } from './dead-mans-switch';

export type { ProcedureEntry, ProcedureOption } from './types';

/**
 * Every procedure secdr runs, in the order `--help` lists them. Add a drill here (one
 * file in procedures/ plus its workflow in workflows/) and it gets its CLI command, its
 * Schedule and its freshness gauge.
 */
export const registry: ProcedureEntry[] = [vaultSnapshot, vaultRestore, logFailover, caOutage, alerting, quarterly, deadMansSwitch] as ProcedureEntry[];

export function procedureByName(name: string): ProcedureEntry | undefined {
  return registry.find((p) => p.name === name);
}

export const drills = () => registry.filter((p) => p.kind === 'drill');

/** A procedure's kind by name, for the activities the worker builds (they sit below the registry). */
export function procedureKind(name: string): string | undefined {
  return procedureByName(name)?.kind;
}
