import type { Client } from '@temporalio/client';

/** `secdr status WORKFLOW_ID`: the run's state, current step and phase. */
export async function statusCommand(client: Client, workflowId: string, json: boolean): Promise<number> {
  const handle = client.workflow.getHandle(workflowId);
  const desc = await handle.describe();
  let status: unknown;
  try {
    status = await handle.query('status');
  } catch (err) {
    status = { unavailable: (err as Error).message };
  }
  const out = { workflowId, type: desc.type, status: desc.status.name, startTime: desc.startTime, closeTime: desc.closeTime, progress: status };
  if (json) console.log(JSON.stringify(out, null, 2));
  else {
    const p = status as { phase?: string; step?: string };
    console.log(`${workflowId} (${desc.type}): ${desc.status.name}`);
    if (p.step) console.log(`  step: ${p.step}`);
    if (p.phase) console.log(`  phase: ${p.phase}`);
  }
  return desc.status.name === 'FAILED' || desc.status.name === 'TERMINATED' || desc.status.name === 'TIMED_OUT' ? 1 : 0;
}
