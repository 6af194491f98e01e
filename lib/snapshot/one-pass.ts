import { once } from 'node:events';
import { createSnapshotVerifier } from './archive-verifier';
import type { SnapshotInspection } from './inspection';

/** Where the archive's bytes go besides the verifier: a store's streaming put, the local copy. */
export interface SnapshotSink {
  /** Resolves when the sink can take more (backpressure); rejects when it failed. */
  write(chunk: Buffer): Promise<void>;
  /** Discards what was written; returns what happened, for messages. */
  abort(): Promise<string>;
}

/** The pass broke: `cause` is the verifier's SnapshotCorruptError, the source's error or a sink's; every sink was aborted. */
export class OnePassError extends Error {
  constructor(
    readonly stage: 'verify' | 'source' | 'sink',
    readonly bytes: number,
    /** What each sink's abort did, in sink order. */
    readonly cleanup: string[],
    override readonly cause: unknown,
  ) {
    super(`${(cause as Error)?.message ?? String(cause)}${cleanup.length > 0 ? `; ${cleanup.join('; ')}` : ''}`);
    this.name = 'OnePassError';
  }
}

/** A sink that failed while others carried on (see `continueWhile`): aborted, with why. */
export interface DroppedSink {
  index: number;
  error: unknown;
  /** What its abort did. */
  cleanup: string;
}

export interface PassOptions {
  onBytes?: (bytes: number) => void;
  /**
   * Whether the pass may go on without a sink that failed, given the indexes of the sinks still
   * writing. Without it (or when it says no) one failed sink stops the pass and aborts them all.
   */
  continueWhile?: (alive: readonly number[]) => boolean;
}

/**
 * Reads the snapshot stream once and feeds every byte, at the same time, to the archive
 * verifier (which also hashes it) and to each sink, at the pace of the slowest. Resolves with
 * the verifier's inspection after the last byte; the caller then finishes its sinks (complete
 * the uploads, read back, catalog). On a verdict against the archive, a broken source or a
 * failed sink it stops reading, aborts every sink and rejects with OnePassError; nothing is
 * left in any sink. (A failed sink `continueWhile` lets the others do without is aborted alone
 * and listed in `dropped`; the pass goes on.) The verifier's verdict is awaited before anything is finished, so a
 * corrupt archive is never completed anywhere.
 */
export async function streamThroughVerifier(
  source: AsyncIterable<Uint8Array>,
  label: string,
  sinks: SnapshotSink[],
  opts: PassOptions = {},
): Promise<{ inspection: SnapshotInspection; dropped: DroppedSink[] }> {
  const verifier = createSnapshotVerifier(label);
  let verdict: unknown;
  verifier.result.catch((err: unknown) => (verdict = err));
  let bytes = 0;
  let stage: OnePassError['stage'] = 'source';
  let alive = sinks.map((_, i) => i);
  const dropped: DroppedSink[] = [];

  const hand = async (chunk: Buffer) => {
    stage = 'sink';
    const writes: Promise<unknown>[] = alive.map((i) => sinks[i].write(chunk));
    const drained = verifier.sink.write(chunk) ? undefined : once(verifier.sink, 'drain');
    const settled = await Promise.allSettled(writes);
    if (drained) await drained;
    const failed = alive.filter((_, k) => settled[k].status === 'rejected');
    if (failed.length > 0) {
      const rest = alive.filter((i) => !failed.includes(i));
      const firstError = (settled[alive.indexOf(failed[0])] as PromiseRejectedResult).reason;
      if (rest.length === 0 || !opts.continueWhile?.(rest)) throw firstError;
      // The others carry on: this sink's copy is given up, not the snapshot.
      for (const i of failed) {
        dropped.push({ index: i, error: (settled[alive.indexOf(i)] as PromiseRejectedResult).reason, cleanup: await sinks[i].abort() });
      }
      alive = rest;
    }
    stage = 'source';
    if (verdict !== undefined) {
      stage = 'verify';
      throw verdict;
    }
  };
  try {
    for await (const part of source) {
      const chunk = Buffer.isBuffer(part) ? part : Buffer.from(part.buffer, part.byteOffset, part.byteLength);
      bytes += chunk.length;
      opts.onBytes?.(bytes);
      // Each chunk as it arrives: gathering them into 1 MiB Buffers first copied the whole
      // archive once more, and the garbage held 15-20 MiB more at peak (docs/benchmarks.md).
      await hand(chunk);
    }
    stage = 'verify';
    verifier.sink.end();
    return { inspection: await verifier.result, dropped };
  } catch (err) {
    // Taken before destroying the verifier, whose own "input closed" verdict would hide the cause.
    const cause = verdict ?? err;
    const where = verdict !== undefined ? 'verify' : stage;
    verifier.sink.destroy();
    const cleanup = [...dropped.map((d) => d.cleanup), ...(await Promise.all(alive.map((i) => sinks[i].abort())))];
    throw new OnePassError(where, bytes, cleanup, cause);
  }
}
