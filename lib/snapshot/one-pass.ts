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

/**
 * Reads the snapshot stream once and feeds every byte, at the same time, to the archive
 * verifier (which also hashes it) and to each sink, at the pace of the slowest. Resolves with
 * the verifier's inspection after the last byte; the caller then finishes its sinks (complete
 * the uploads, read back, catalog). On a verdict against the archive, a broken source or a
 * failed sink it stops reading, aborts every sink and rejects with OnePassError; nothing is
 * left in any sink. The verifier's verdict is awaited before anything is finished, so a
 * corrupt archive is never completed anywhere.
 */
export async function streamThroughVerifier(
  source: AsyncIterable<Uint8Array>,
  label: string,
  sinks: SnapshotSink[],
  onBytes: (bytes: number) => void = () => undefined,
): Promise<SnapshotInspection> {
  const verifier = createSnapshotVerifier(label);
  let verdict: unknown;
  verifier.result.catch((err: unknown) => (verdict = err));
  let bytes = 0;
  let stage: OnePassError['stage'] = 'source';

  const hand = async (chunk: Buffer) => {
    stage = 'sink';
    const writes = sinks.map((s) => s.write(chunk));
    if (!verifier.sink.write(chunk)) writes.push(once(verifier.sink, 'drain').then(() => undefined));
    await Promise.all(writes);
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
      onBytes(bytes);
      // Each chunk as it arrives: gathering them into 1 MiB Buffers first copied the whole
      // archive once more, and the garbage held 15-20 MiB more at peak (docs/benchmarks.md).
      await hand(chunk);
    }
    stage = 'verify';
    verifier.sink.end();
    return await verifier.result;
  } catch (err) {
    // Taken before destroying the verifier, whose own "input closed" verdict would hide the cause.
    const cause = verdict ?? err;
    const where = verdict !== undefined ? 'verify' : stage;
    verifier.sink.destroy();
    const cleanup = await Promise.all(sinks.map((s) => s.abort()));
    throw new OnePassError(where, bytes, cleanup, cause);
  }
}
