/**
 * One run of secdr's snapshot pipeline, as its own process so its peak RSS can be measured
 * alone: the real one-pass `takeAndStore` (lib/snapshot/take-and-store.ts) that the snapshot
 * activity runs: the Vault stream goes straight into the S3 multipart upload (SSE-KMS, SHA-256
 * part checksums) while the archive is verified and hashed; then complete, HEAD read-back and
 * catalog entry. No local copy (local retention off). Prints one JSON line with the timings.
 *
 *   BAO_TOKEN=… AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_REGION=us-east-1 \
 *   node --import tsx bench/run-secdr-side.ts --address http://127.0.0.1:8200 --dir /tmp/staging \
 *     --endpoint http://127.0.0.1:5000 --bucket b --kms-key-id arn:aws:kms:…:key/x --cluster bench
 *
 * The token comes from the environment, never the command line.
 */
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import type { S3StorageConfig } from '../lib/config/schema';
import { takeAndStore } from '../lib/snapshot/take-and-store';
import { S3SnapshotStore } from '../lib/storage/s3-store';
import { snapshotName } from '../lib/storage/snapshot-store';

/** What the parent reads from this process's stdout. */
export interface SecdrRunResult {
  key: string;
  bytes: number;
  sha256: string;
  raftIndex: number;
  keys: number;
  /** The one pass: GET sys/storage/raft/snapshot → verifier + hash + S3 parts, until the verdict. */
  streamMs: number;
  /** After the verdict: last part, CompleteMultipartUpload, HEAD read-back, catalog entry. */
  putMs: number;
  /** Event-loop utilisation over the whole takeAndStore call (0–1): near 1 means the main thread bounds it. */
  streamElu: number;
  /** CPU milliseconds of this process over the whole takeAndStore call (user + system; zlib's thread pool included). */
  streamCpuMs: number;
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
      'part-mib': { type: 'string', default: '8' },
      'queue-size': { type: 'string', default: '4' },
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
  const store = new S3SnapshotStore(storage, {
    partSize: Number(values['part-mib']) * 2 ** 20,
    queueSize: Number(values['queue-size']),
  });

  const memory = memorySampler();
  memory.enter('stream');
  const elu0 = performance.eventLoopUtilization();
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const snap = await takeAndStore({
    address: need('address'),
    token,
    cluster,
    fileName: name,
    takenAt,
    stores: [store],
    onBytes: () => undefined,
  });
  // takeAndStore reports its own phase split; the ELU and CPU cover the whole call.
  const t2 = performance.now();
  const cpu = process.cpuUsage(cpu0);
  const passEnded = { at: t0 + snap.phases.streamMs, elu: performance.eventLoopUtilization(elu0).utilization, cpuMs: (cpu.user + cpu.system) / 1000 };
  memory.enter('put');
  const peaks = memory.stop();
  const put = snap.uploads[0];

  const result: SecdrRunResult = {
    key: put.key,
    bytes: snap.bytes,
    sha256: snap.sha256,
    raftIndex: snap.raftIndex,
    keys: snap.keys,
    streamMs: snap.phases.streamMs,
    putMs: t2 - passEnded.at,
    streamElu: passEnded.elu,
    streamCpuMs: passEnded.cpuMs,
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
