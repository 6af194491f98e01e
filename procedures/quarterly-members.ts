import { alerting } from './alerting';
import { caOutage } from './ca-outage';
import { logFailover } from './log-failover';
import type { ProcedureEntry } from './types';
import { vaultRestore } from './vault-restore';

/** The procedures the quarterly drill can run as its children (quarterlyDrill.drills names them). */
export const quarterlyMembers: ProcedureEntry[] = [vaultRestore, logFailover, caOutage, alerting] as ProcedureEntry[];

export const quarterlyMember = (name: string): ProcedureEntry | undefined => quarterlyMembers.find((p) => p.name === name);
