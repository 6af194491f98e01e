import type { WorkflowHandle } from '@temporalio/client';

interface StatusLike {
  phase?: string;
  step?: string;
}

function fmtBytes(n: number): string {
  return n >= 1 << 30 ? `${(n / (1 << 30)).toFixed(2)} GiB` : n >= 1 << 20 ? `${(n / (1 << 20)).toFixed(1)} MiB` : `${(n / 1024).toFixed(0)} KiB`;
}

/**
 * Follows a running workflow: prints each new step/phase (from its `status`
 * query) and, for streaming steps, the bytes from the activity's heartbeat.
 * Resolves with the workflow's result; rejects with its failure.
 */
export async function followWorkflow<T>(handle: WorkflowHandle, quiet = false): Promise<T> {
  let last = '';
  let done = false;
  const result = handle.result().finally(() => void (done = true)) as Promise<T>;
  result.catch(() => undefined);
  while (!done) {
    try {
      const status = await handle.query<StatusLike>('status');
      const desc = await handle.describe();
      const hb = desc.raw.pendingActivities?.[0]?.heartbeatDetails?.payloads?.length
        ? await decodeHeartbeat(handle, desc.raw.pendingActivities[0].heartbeatDetails.payloads)
        : undefined;
      const line = `${status.step ?? ''}${status.phase && status.phase !== status.step ? ` [${status.phase}]` : ''}${hb?.bytes ? ` ${fmtBytes(hb.bytes)}` : ''}`;
      if (!quiet && line && line !== last) {
        process.stderr.write(`  … ${line}\n`);
        last = line;
      }
    } catch {
      // The workflow may not have started its first task yet.
    }
    await Promise.race([result.catch(() => undefined), new Promise((r) => setTimeout(r, 1000))]);
  }
  return result;
}

async function decodeHeartbeat(handle: WorkflowHandle, payloads: unknown[]): Promise<{ bytes?: number } | undefined> {
  const { decodeFromPayloadsAtIndex } = await import('@temporalio/common/lib/internal-non-workflow');
  const loaded = (handle.client as unknown as { dataConverter: never }).dataConverter;
  try {
    return (await decodeFromPayloadsAtIndex(loaded, 0, payloads as never)) as { bytes?: number };
  } catch {
    return undefined;
  }
}
