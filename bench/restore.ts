import { createReadStream, rmSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { startOpenBao } from '../dev-stack/openbao';
import { initNode } from '../dev-stack/openbao-setup';
import { fetchWithCa, nodeHealth } from '../lib/vault/health';
import { MARKER_PATH } from './fill';

export interface RestoreTiming {
  /** POST snapshot-force until OpenBao answered (it applies the snapshot in the background after 204). */
  postMs: number;
  /** What sys/health and the marker read answered after the POST, each change with when it was first seen (ms from POST start). */
  states: { ms: number; state: string }[];
  /** POST start until the marker written before the snapshot reads back with the expected nonce. */
  readableMs: number;
  /** Fresh node start + init, as before; kept for the old table. */
  setupMs: number;
  /** Fresh node process start until it answers. */
  startMs: number;
  /** sys/init until the node is active (part of "secrets readable" in the design's bar). */
  initMs: number;
  /** Raft performance_multiplier the target ran with. */
  performanceMultiplier: number;
  /** Size of the restored snapshot, bytes (set by the caller). */
  bytes?: number;
}

/**
 * Force-restores `snapshotFile` into a fresh OpenBao node with the same static seal key,
 * as secdr's restore activity does, and times it until the marker secret reads back
 * with the source's root token (the restored token store is the source's).
 */
export async function restoreOnce(opts: {
  dir: string;
  nodeId: string;
  sealKeyFile: string;
  snapshotFile: string;
  sourceToken: string;
  markerNonce: string;
  timeoutMs?: number;
  /** Raft performance_multiplier of the target (default: the local stack's, 1). */
  performanceMultiplier?: number;
}): Promise<RestoreTiming> {
  const s0 = performance.now();
  const performanceMultiplier = opts.performanceMultiplier ?? 1;
  const node = await startOpenBao({ dir: opts.dir, nodeId: opts.nodeId, staticSealKeyFile: opts.sealKeyFile, performanceMultiplier });
  try {
    const i0 = performance.now();
    const init = await initNode(node.address, 'auto');
    const setupMs = performance.now() - s0;
    const startMs = i0 - s0;
    const initMs = performance.now() - i0;
    const deadline = Date.now() + (opts.timeoutMs ?? 600_000);

    const t0 = performance.now();
    const res = await fetchWithCa(`${node.address}/v1/sys/storage/raft/snapshot-force`, undefined, 3600_000, {
      method: 'POST',
      headers: { 'X-Vault-Token': init.rootToken, 'Content-Type': 'application/octet-stream' },
      body: Readable.toWeb(createReadStream(opts.snapshotFile)) as unknown as RequestInit['body'],
      duplex: 'half',
    } as RequestInit);
    const text = await res.text().catch(() => '');
    const postMs = performance.now() - t0;
    if (res.status !== 204 && res.status !== 200)
      throw new Error(`snapshot-force into ${node.address} answered ${res.status}: ${text.slice(0, 300)}`);

    const states: RestoreTiming['states'] = [];
    const saw = (what: string) => {
      if (states.at(-1)?.state !== what) states.push({ ms: performance.now() - t0, state: what });
    };
    for (;;) {
      if (Date.now() > deadline) {
        throw new Error(
          `restore into ${node.address}: marker not readable within ${(opts.timeoutMs ?? 600_000) / 1000} s (seen: ${JSON.stringify(states)})`,
        );
      }
      // Long timeouts: a request held while the snapshot applies answers the moment the node serves again.
      const health = await nodeHealth(node.address, undefined, 30_000);
      saw(`health ${health.state}`);
      if (health.state === 'active') {
        const read = await readMarker(node.address, opts.sourceToken);
        saw(`read ${read.outcome}`);
        if (read.nonce === opts.markerNonce) {
          return { postMs, readableMs: performance.now() - t0, setupMs, startMs, initMs, performanceMultiplier, states };
        }
      }
      await sleep(100);
    }
  } finally {
    await node.process.stop();
    rmSync(node.dataDir, { recursive: true, force: true });
  }
}

/** The marker's nonce, and what the read answered (HTTP status, or the error) for the timeline. */
async function readMarker(address: string, token: string): Promise<{ outcome: string; nonce?: string }> {
  try {
    const res = await fetchWithCa(`${address}/v1/${MARKER_PATH}`, undefined, 30_000, {
      headers: { 'X-Vault-Token': token },
    });
    if (res.status !== 200) {
      await res.body?.cancel();
      return { outcome: String(res.status) };
    }
    const body = (await res.json()) as { data?: { data?: { nonce?: string } } };
    return { outcome: '200', nonce: body.data?.data?.nonce };
  } catch (err) {
    return { outcome: (err as Error).name };
  }
}
