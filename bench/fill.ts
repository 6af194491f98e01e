import { randomBytes, randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';

/**
 * Random bytes per secret before base64: 384 KiB becomes a 512 KiB string, well under
 * raft's default max entry size (1 MiB) and OpenBao's max request size (32 MiB).
 * Stored entries are barrier-encrypted, so the snapshot cannot compress them.
 */
export const RAW_VALUE_BYTES = 384 * 1024;
export const VALUE_CHARS = (RAW_VALUE_BYTES / 3) * 4;
/** Writes in flight. */
export const WRITE_CONCURRENCY = 8;

export const MARKER_PATH = 'secret/data/bench/marker';

async function vaultWrite(address: string, token: string, path: string, data: Record<string, string>): Promise<void> {
  const res = await fetch(`${address}/v1/${path}`, {
    method: 'POST',
    headers: { 'X-Vault-Token': token, 'Content-Type': 'application/json' },
    body: JSON.stringify({ data }),
  });
  const text = await res.text();
  if (res.status !== 200 && res.status !== 204)
    throw new Error(`writing ${path} at ${address}: HTTP ${res.status}: ${text.slice(0, 300)}`);
}

/** Writes the marker secret a restore must read back; returns its nonce. */
export async function writeMarker(address: string, token: string): Promise<string> {
  const nonce = randomUUID();
  await vaultWrite(address, token, MARKER_PATH, { nonce, writtenAt: new Date().toISOString() });
  return nonce;
}

/**
 * Writes `count` secrets of VALUE_CHARS random base64 characters, numbered from `first`,
 * WRITE_CONCURRENCY at a time, printing progress.
 */
export async function fillSecrets(
  address: string,
  token: string,
  first: number,
  count: number,
  log: (line: string) => void,
): Promise<void> {
  let next = first;
  let done = 0;
  let lastPct = -1;
  const started = performance.now();
  const end = first + count;
  const worker = async () => {
    while (next < end) {
      const i = next++;
      await vaultWrite(address, token, `secret/data/bench/blob-${String(i).padStart(6, '0')}`, {
        v: randomBytes(RAW_VALUE_BYTES).toString('base64'),
      });
      done++;
      const pct = Math.floor((done / count) * 20) * 5;
      if (pct !== lastPct) {
        lastPct = pct;
        const mib = (done * VALUE_CHARS) / 2 ** 20;
        const s = (performance.now() - started) / 1000;
        log(
          `  fill: ${done}/${count} secrets (${pct}%), ${mib.toFixed(0)} MiB of values in ${s.toFixed(1)} s (${(mib / s).toFixed(1)} MiB/s)`,
        );
      }
    }
  };
  await Promise.all(Array.from({ length: WRITE_CONCURRENCY }, worker));
}

/** Size in bytes of a raft snapshot streamed now and discarded (sizing only, not measured). */
export async function snapshotSize(address: string, token: string): Promise<number> {
  const res = await fetch(`${address}/v1/sys/storage/raft/snapshot`, { headers: { 'X-Vault-Token': token } });
  if (res.status !== 200 || !res.body)
    throw new Error(`sizing snapshot from ${address}: HTTP ${res.status}: ${(await res.text()).slice(0, 300)}`);
  let bytes = 0;
  for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) bytes += chunk.length;
  return bytes;
}
