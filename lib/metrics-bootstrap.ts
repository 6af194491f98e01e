import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Gauge } from 'prom-client';
import type { SecdrConfig, StorageConfig } from './config/schema';
import { drillLastSuccess, restoreLastVerified, snapshotLastSuccess } from './metrics';
import { FailureType, TypedError } from './failure-types';
import { loadLastSuccess } from './procedure-outcomes';
import type { RecordStore } from './storage/records';
import { createStore, type SnapshotStore } from './storage/snapshot-store';

/**
 * Drills whose freshness gauge is exported from start-up, as 0 until one succeeds. The quarterly
 * drill runs the others as children, so it is the one SecdrDrillOverdue watches by default.
 */
export const DEFAULT_DRILLS = ['quarterly'] as const;

export interface BootstrapOptions {
  /** Where problems go (a storage that cannot be listed). Default: console.warn. */
  warn?: (message: string) => void;
  /** Builds the store for a storage; tests may substitute one. Default: createStore. */
  storeFor?: (cfg: StorageConfig) => SnapshotStore;
  /** Drill names to export. Default: DEFAULT_DRILLS. */
  drills?: readonly string[];
  /** Builds the record store for a storage (last-success records); tests may substitute one. */
  recordStoreFor?: (cfg: StorageConfig) => RecordStore;
  /** How long one storage listing may take, in milliseconds. Default 30000. */
  listTimeoutMs?: number;
}

export interface BootstrapResult {
  /** Cluster → Unix seconds of its newest catalogued snapshot (0: none in any storage). */
  snapshots: Record<string, number>;
  /** Clusters whose gauge was left unset: no storage could be listed. */
  unknown: string[];
}

async function current(gauge: Gauge, labels: Record<string, string>): Promise<number | undefined> {
  const { values } = await gauge.get();
  return values.find((v) => Object.entries(labels).every(([k, val]) => v.labels[k] === val))?.value;
}

/** Sets the gauge unless it already holds a newer value (an activity may have run meanwhile). */
async function raise(gauge: Gauge, labels: Record<string, string>, value: number): Promise<void> {
  const now = await current(gauge, labels);
  if (now === undefined || now < value) gauge.set(labels, value);
}

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new TypedError(FailureType.StorageRequestFailed, `${what} took longer than ${ms} ms`)), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

/**
 * Newest verified restore per cluster from the restore reports in `reportsDir` (written by the
 * restore workflow; only this host's). Best effort: unreadable files are skipped.
 */
async function restoresFromReports(reportsDir: string): Promise<Map<string, number>> {
  const newest = new Map<string, number>();
  let names: string[];
  try {
    names = await readdir(reportsDir);
  } catch {
    return newest;
  }
  for (const name of names.filter((n) => /^restore-.*\.json$/.test(n))) {
    try {
      const r = JSON.parse(await readFile(join(reportsDir, name), 'utf8')) as {
        cluster?: unknown;
        outcome?: unknown;
        finishedAt?: unknown;
      };
      if (r.outcome !== 'verified' || typeof r.cluster !== 'string' || typeof r.finishedAt !== 'string') continue;
      const at = Date.parse(r.finishedAt) / 1000;
      if (Number.isFinite(at) && at > (newest.get(r.cluster) ?? 0)) newest.set(r.cluster, at);
    } catch {
      // a report being written, or not a report: not evidence either way
    }
  }
  return newest;
}

/**
 * Initialises the freshness gauges when the worker starts, so the freshness alerts keep working
 * after a restart instead of seeing absent series (docs/monitoring.md, SecdrMetricsAbsent):
 *
 * - `secdr_snapshot_last_success_timestamp_seconds{cluster}`: the newest catalog entry's `takenAt`
 *   across every configured storage; 0 when no storage holds one. A storage that cannot be listed is
 *   reported through `warn` and skipped; when none can be listed the cluster's gauge is left unset
 *   (and listed in `unknown`), since nothing is known about it.
 * - `secdr_restore_last_verified_timestamp_seconds{cluster}`: the last-success record of
 *   vault-restore in the storage (written by the procedure frame on any host), or the newest
 *   verified restore report in `reportsDir` on this host, whichever is newer; else 0.
 * - `secdr_drill_last_success_timestamp_seconds{drill}`: the drill's last-success record in the
 *   storage, else 0, for every drill in `drills`.
 *
 * A gauge that already holds a newer value is never lowered.
 */
export async function bootstrapFreshnessGauges(
  config: SecdrConfig,
  opts: BootstrapOptions = {},
): Promise<BootstrapResult> {
  const warn = opts.warn ?? ((m: string) => console.warn(m));
  const storeFor = opts.storeFor ?? ((cfg: StorageConfig) => createStore(cfg, { warn }));
  const timeoutMs = opts.listTimeoutMs ?? 30_000;
  const result: BootstrapResult = { snapshots: {}, unknown: [] };

  for (const cluster of config.clusters.map((c) => c.name)) {
    let newest = 0;
    let listed = 0;
    for (const storage of config.storage) {
      try {
        const entries = await withTimeout(
          storeFor(storage).list(cluster),
          timeoutMs,
          `listing storage ${storage.name}`,
        );
        listed++;
        for (const e of entries) newest = Math.max(newest, Date.parse(e.takenAt) / 1000 || 0);
      } catch (err) {
        warn(
          `metrics: cannot read the snapshot catalog of cluster ${cluster} in storage ${storage.name} ` +
            `(${err instanceof Error ? err.message : String(err)}); its freshness gauge ignores that storage until the next snapshot`,
        );
      }
    }
    if (listed === 0) {
      result.unknown.push(cluster);
      continue;
    }
    result.snapshots[cluster] = newest;
    await raise(snapshotLastSuccess, { cluster }, newest);
  }

  // Restores and drills: the last-success record the frame keeps in the storage (any host's),
  // and for restores also this host's reports (written before the records existed).
  const recorded = async (procedure: string, cluster?: string) => {
    const rec = await withTimeout(loadLastSuccess(config.storage, procedure, cluster, warn, opts.recordStoreFor), timeoutMs, `reading the last ${procedure} success`).catch(
      (err: unknown) => (warn(`metrics: ${err instanceof Error ? err.message : String(err)}`), undefined),
    );
    return rec ? Date.parse(rec.at) / 1000 : 0;
  };
  const restores = await restoresFromReports(config.reportsDir);
  for (const cluster of config.clusters.map((c) => c.name)) {
    await raise(restoreLastVerified, { cluster }, Math.max(restores.get(cluster) ?? 0, await recorded('vault-restore', cluster)));
  }
  for (const drill of opts.drills ?? DEFAULT_DRILLS) {
    await raise(drillLastSuccess, { drill }, await recorded(drill));
  }
  return result;
}

/**
 * Runs the bootstrap, then retries it every `intervalMs` (default 5 min) while some cluster's
 * snapshot gauge is still unknown (every storage failed): an unset gauge can never alert.
 * Returns a function that stops the retries.
 */
export function keepFreshnessGaugesBootstrapped(
  config: SecdrConfig,
  opts: BootstrapOptions & { intervalMs?: number } = {},
): { first: Promise<BootstrapResult>; stop: () => void } {
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  const attempt = async (cfg: SecdrConfig): Promise<BootstrapResult> => {
    const r = await bootstrapFreshnessGauges(cfg, opts);
    if (r.unknown.length > 0 && !stopped) {
      const retry = { ...cfg, clusters: cfg.clusters.filter((c) => r.unknown.includes(c.name)) };
      timer = setTimeout(() => void attempt(retry).catch(() => undefined), opts.intervalMs ?? 300_000);
      timer.unref();
    }
    return r;
  };
  return {
    first: attempt(config),
    stop: () => {
      stopped = true;
      clearTimeout(timer);
    },
  };
}
