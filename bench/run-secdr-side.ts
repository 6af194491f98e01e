/**
 * One run of secdr's snapshot pipeline, as its own process so its peak RSS can be measured
 * alone: the real `streamSnapshot` (stream + SHA-256 + archive verification in one pass) and
 * the real S3 store's `put` (multipart upload with SSE-KMS and SHA-256 checksums, HEAD
 * read-back, catalog entry). Prints one JSON line with the timings.
 *
 *   BAO_TOKEN=… AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_REGION=us-east-1 \
 *   node --import tsx bench/run-secdr-side.ts --address http://127.0.0.1:8200 --dir /tmp/staging \
 *     --endpoint http://127.0.0.1:5000 --bucket b --kms-key-id arn:aws:kms:…:key/x --cluster bench
 *
 * The token comes from the environment, never the command line.
 */
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { streamSnapshot } from '../activities/vault';
import type { S3StorageConfig } from '../lib/config/schema';
import { createStore, snapshotName, type SnapshotMeta } from '../lib/storage/snapshot-store';

/** What the parent reads from this process's stdout. */
export interface SecdrRunResult {
  file: string;
  key: string;
  bytes: number;
  sha256: string;
  raftIndex: number;
  keys: number;
  /** GET sys/storage/raft/snapshot → staging file, hashed and verified in the same pass. */
  streamMs: number;
  /** Store put: multipart upload + HEAD read-back + catalog entry. */
  putMs: number;
  location: string;
  checksumSha256?: string;
  sseKmsKeyId?: string;
  /** process.resourceUsage().maxRSS at the end, KiB (cross-check for GNU time). */
  maxRssKiB: number;
  /** Peaks of process.memoryUsage() per phase, MiB, sampled every 20 ms: what the RSS is made of. */
  memory: Record<'loaded' | 'stream' | 'put', MemoryPeak>;
}

export interface MemoryPeak {
  rss: number;
  heapUsed: number;
  /** Buffers (chunks, lib-storage parts) live outside the V8 heap. */
  arrayBuffers: number;
}

/** Samples memory every 20 ms into the current phase's peaks. */
function memorySampler() {
  const peaks: Record<string, MemoryPeak> = {};
  let phase = 'loaded';
  const sample = () => {
    const m = process.memoryUsage();
    const p = (peaks[phase] ??= { rss: 0, heapUsed: 0, arrayBuffers: 0 });
    p.rss = Math.max(p.rss, m.rss / 2 ** 20);
    p.heapUsed = Math.max(p.heapUsed, m.heapUsed / 2 ** 20);
    p.arrayBuffers = Math.max(p.arrayBuffers, m.arrayBuffers / 2 ** 20);
  };
  sample();
  const timer = setInterval(sample, 20);
  return {
    enter(next: 'stream' | 'put') {
      sample();
      phase = next;
      sample();
    },
    stop(): RunResultMemory {
      sample();
      clearInterval(timer);
      return peaks as RunResultMemory;
    },
  };
}
type RunResultMemory = SecdrRunResult['memory'];

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      address: { type: 'string' },
      dir: { type: 'string' },
      endpoint: { type: 'string' },
      bucket: { type: 'string' },
      'kms-key-id': { type: 'string' },
      cluster: { type: 'string', default: 'bench' },
      prefix: { type: 'string', default: 'vault-snapshots/' },
      /** Load every module, then exit: warms tsx's compile cache and measures start-up alone. */
      'warm-up': { type: 'boolean', default: false },
    },
  });
  if (values['warm-up']) {
    process.stdout.write(`${JSON.stringify({ maxRssKiB: process.resourceUsage().maxRSS })}\n`, () => process.exit(0));
    return;
  }
  const need = (name: keyof typeof values): string => {
    const v = values[name];
    if (typeof v !== 'string' || v === '') throw new Error(`run-secdr-side: --${name} is required`);
    return v;
  };
  const token = process.env.BAO_TOKEN;
  if (!token) throw new Error('run-secdr-side: set BAO_TOKEN in the environment');
  const cluster = need('cluster');

  const storage: S3StorageConfig = {
    name: 'bench-s3',
    type: 's3',
    bucket: need('bucket'),
    region: process.env.AWS_REGION ?? 'us-east-1',
    prefix: need('prefix'),
    kmsKeyId: need('kms-key-id'),
    endpoint: need('endpoint'),
    forcePathStyle: true,
  };

  const takenAt = new Date();
  const name = snapshotName(cluster, takenAt);
  const file = join(need('dir'), name);

  const memory = memorySampler();
  memory.enter('stream');
  const t0 = performance.now();
  const snap = await streamSnapshot(need('address'), token, undefined, file);
  const t1 = performance.now();
  memory.enter('put');
  const meta: SnapshotMeta = {
    key: name,
    cluster,
    sha256: snap.sha256,
    bytes: snap.bytes,
    raftIndex: snap.raftIndex,
    raftTerm: snap.raftTerm,
    takenAt: takenAt.toISOString(),
    verifiedAt: new Date().toISOString(),
    storage: storage.name,
  };
  const put = await createStore(storage).put(file, meta);
  const t2 = performance.now();
  const peaks = memory.stop();

  const result: SecdrRunResult = {
    file,
    key: put.key,
    bytes: snap.bytes,
    sha256: snap.sha256,
    raftIndex: snap.raftIndex,
    keys: snap.keys,
    streamMs: t1 - t0,
    putMs: t2 - t1,
    location: put.location,
    checksumSha256: put.checksumSha256,
    sseKmsKeyId: put.sseKmsKeyId,
    maxRssKiB: process.resourceUsage().maxRSS,
    memory: peaks,
  };
  // Keep-alive sockets would hold the process open; the run is over.
  process.stdout.write(`${JSON.stringify(result)}\n`, () => process.exit(0));
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? (err.stack ?? err.message) : String(err));
  process.exit(1);
});
