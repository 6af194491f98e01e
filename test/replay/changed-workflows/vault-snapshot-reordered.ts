import { proxyActivities } from '@temporalio/workflow';
import type { createVaultActivities } from '../../../activities/vault';
import { profiles } from '../../../workflows/activity-profiles';
import { runProcedure } from '../../../workflows/frame';
import type { SnapshotInput } from '../../../workflows/vault-snapshot';

const quick = proxyActivities<ReturnType<typeof createVaultActivities>>(profiles.quick);
const preflight = proxyActivities<ReturnType<typeof createVaultActivities>>(profiles.preflight);

/** vault-snapshot with its first two steps swapped (the change a careless refactor makes). */
export async function vaultSnapshotWorkflow(input: SnapshotInput): Promise<unknown> {
  return runProcedure({ procedure: 'vault-snapshot', cluster: input.cluster }, {}, async (p) => {
    await p.step('write canary', () => quick.writeCanary({ cluster: input.cluster }));
    await p.step('find active node', () => preflight.findActiveNode({ cluster: input.cluster }));
  });
}
