import { setTimeout as sleep } from 'node:timers/promises';

/** Thrown by a probe to stop waiting at once (e.g. the server process died). */
export class GiveUp extends Error {}

/**
 * Polls `probe` until it returns a truthy value or `timeoutMs` passes; then throws
 * naming `what` and the last error seen, so a start-up failure says why.
 */
export async function waitFor<T>(
  what: string,
  probe: () => Promise<T | undefined | false>,
  { timeoutMs = 30_000, intervalMs = 100 }: { timeoutMs?: number; intervalMs?: number } = {},
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await probe();
      if (value) return value;
    } catch (err) {
      if (err instanceof GiveUp) throw err;
      lastError = err;
    }
    await sleep(intervalMs);
  }
  const reason = lastError instanceof Error ? `: ${lastError.message}` : '';
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${reason}`);
}

/** True when an HTTP GET answers with one of `okStatuses`. */
export async function httpAnswers(url: string, okStatuses: number[] = [200]): Promise<boolean> {
  const res = await fetch(url, { redirect: 'manual', signal: AbortSignal.timeout(2000) });
  await res.body?.cancel();
  return okStatuses.includes(res.status);
}
