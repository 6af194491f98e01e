import { TimeoutType } from '@temporalio/common';
import { ActivityFailure, condition, defineQuery, defineSignal, proxyActivities, setHandler, TimeoutFailure } from '@temporalio/workflow';
import type { createStagingActivities } from '../activities/staging';
import type { createStorageActivities } from '../activities/storage';
import type { createVaultActivities, SealStatus } from '../activities/vault';
import { fail, FailureType, failureMessage, failureTypeOf } from '../lib/fail';
import type { RestoreDetails, RestoreReport } from '../lib/reports/restore';
import type { SnapshotMeta } from '../lib/storage/types';
import { profiles } from './activity-profiles';
import { runProcedure, type Procedure, type ProcedureStatus } from './frame';
import { elapsedSeconds } from './frame/step-log';

type Vault = ReturnType<typeof createVaultActivities>;
type Storage = ReturnType<typeof createStorageActivities>;
type Staging = ReturnType<typeof createStagingActivities>;

const quick = proxyActivities<Vault>(profiles.quick);
const destructive = proxyActivities<Vault>(profiles.destructive);
const verify = proxyActivities<Vault>(profiles.verify);
const storage = proxyActivities<Storage>(profiles.streaming);
const storageQuick = proxyActivities<Storage>(profiles.quick);
const lifecycle = proxyActivities<Vault>(profiles.targetLifecycle);

export interface RestoreInput {
  cluster: string;
  target: string;
  storage: string;
  /**
   * The other storages holding copies (the snapshot procedure uploads to every storage), in
   * the order to try them: when `storage` is unreachable or its copy fails verification, the
   * same snapshot comes from the next one. Default: none.
   */
  otherStorages?: string[];
  /** 'latest' (default) or a snapshot key from `secdr snapshot list`. */
  snapshot?: string;
  slo: { secretsReadableSeconds: number; wholeRestoreSeconds: number; hardLimitSeconds: number };
  /** Older verified snapshots to try when one fails verification or is rejected. */
  fallbackAttempts: number;
  /** Issue a dynamic database credential and log in with it (needs target.database). */
  checkDatabase: boolean;
  /** Seconds between seal-status polls while waiting for unseal. Default 5. */
  pollSeconds?: number;
}

export interface RestoreStatus extends ProcedureStatus {
  unseal?: { progress: number; threshold: number };
  snapshot?: string;
}

export type { RestoreReport };
/** The frame's `status` query, typed with the restore's own fields. */
export const restoreStatusQuery = defineQuery<RestoreStatus>('status');
/** Sent by `secdr unseal` after it delivered shares, so the workflow re-checks at once. */
export const unsealProgressSignal = defineSignal('unsealProgress');

/** A copy that failed this way may still be good in another storage, or an older snapshot may be. */
const FALLBACK_TYPES: string[] = [FailureType.SnapshotCorrupt, FailureType.SnapshotNotFound, FailureType.StorageUnreachable];

/**
 * Restore-and-verify into a fresh cluster (docs/runbooks/vault-restore.md). The SLOs are
 * workflow timers measured from the workflow's start: a breach is recorded (with the
 * measured time) and alerted on when the timer fires, while the restore keeps going until
 * the hard limit.
 */
export async function vaultRestoreWorkflow(input: RestoreInput): Promise<RestoreReport> {
  let unsealNudged = false;
  setHandler(unsealProgressSignal, () => void (unsealNudged = true));
  const startedAt = new Date().toISOString();
  const r: RestoreDetails = { target: input.target, storage: input.storage, skipped: [], checks: [] };

  return runProcedure(
    {
      procedure: 'vault-restore',
      cluster: input.cluster,
      successOutcome: 'verified',
      failurePrefix: `restore of ${input.cluster} into ${input.target} failed`,
      breachAlert: {
        alertname: 'SecdrRestoreSloBreached',
        labels: { cluster: input.cluster, target: input.target },
        summary: (s) => `restore of ${input.cluster} into ${input.target}: ${s.slo} not met within ${s.limitSeconds} s`,
      },
    },
    r,
    async (p) => {
      const readable = p.slo('secrets readable', input.slo.secretsReadableSeconds, 0);
      const whole = p.slo('whole restore', input.slo.wholeRestoreSeconds, 0);

      // 1. Choose candidates: the named snapshot or the newest verified, then older ones.
      p.phase('choosing snapshot');
      const stores = storageSources(p, input, r);
      const { storage: listedIn, catalog } = await stores.firstCatalog();
      let ordered = catalog;
      if (input.snapshot && input.snapshot !== 'latest') {
        const i = catalog.findIndex((s) => s.key === input.snapshot || s.key.endsWith(`/${input.snapshot}`));
        if (i < 0) {
          throw fail(FailureType.SnapshotNotFound, `snapshot ${input.snapshot} is not in the catalog of ${listedIn} for cluster ${input.cluster}; run \`secdr snapshot list\``);
        }
        ordered = catalog.slice(i);
      }
      const candidates = ordered.slice(0, input.fallbackAttempts + 1).map((c) => ({ ...c, storage: listedIn }));
      if (candidates.length === 0) {
        throw fail(FailureType.SnapshotNotFound, `no verified snapshot of ${input.cluster} in ${listedIn}; take one with \`secdr snapshot --cluster ${input.cluster}\``);
      }

      // The previous (weekly) run put the target out of service: bring it back first, then
      // register putting it out of service again before anything touches it, so a failed,
      // cancelled or crashed run also leaves no live copy of production.
      await p.step('bring the target back into service', () => lifecycle.bringTargetBack({ target: input.target }), (d) => d);
      p.compensate(`put ${input.target} out of service`, async () => {
        const r = await lifecycle.retireTarget({ target: input.target });
        if (r.warning) p.finding(r.warning);
        return r.detail;
      });

      // 2. Download and re-verify; a corrupt or missing one falls back to the previous.
      // 3. Init + force-restore on the fresh target (one activity: the root token never leaves it),
      // on the host that holds the downloaded file; if that host is gone, download again elsewhere.
      let chosen: { key: string; canaryNonce?: string } | undefined;
      for (let hostLost = 0; !chosen; hostLost++) {
        p.phase('downloading snapshot');
        const got = await downloadFirstGood(p, input, candidates, r, stores);
        r.snapshot = got.key;
        r.storage = got.storage;
        p.status.snapshot = got.key;
        p.compensate(`remove the downloaded copy of ${got.key}`, () => discardOnHost(got.file, got.hostTaskQueue));
        p.phase('restoring');
        try {
          const restored = await p.step(
            'init target and force-restore',
            () => onHost(got.hostTaskQueue).restoreSnapshot({ target: input.target, candidates: [{ key: got.key, file: got.file }] }),
            (x) => `restored ${x.used}`,
          );
          r.skipped.push(...restored.rejected);
          chosen = got;
        } catch (err) {
          if (err instanceof ActivityFailure && err.cause instanceof TimeoutFailure && !hostGone(err)) {
            // One attempt only: a worker lost mid-way may have initialised the target and not restored it.
            throw fail(
              FailureType.RestoreRejected,
              `init target and force-restore on ${input.target} was cut off (${failureMessage(err)}); the target may be initialised but not restored: wipe its data (or recreate it) and run the restore again`,
            );
          }
          if (!hostGone(err) || hostLost >= 2) throw err;
          p.finding(`the worker host holding the downloaded ${got.key} stopped polling before the restore; downloaded it again on another worker`);
        }
      }

      // 4. Restore applies in the background: wait until unsealed and active, then read
      // the canary. A Shamir target stays active for a few seconds after the 204 and only
      // then seals (the restored keyring needs the source's keys), so a sealed answer to
      // the canary read sends the workflow back to waiting.
      let canary: Awaited<ReturnType<Vault['verifyCanary']>> | undefined;
      while (!canary) {
        await p.step('wait until unsealed and active', () => waitUnsealedActive(input, p, () => unsealNudged, () => void (unsealNudged = false)));
        p.status.unseal = undefined;
        p.humanAction(undefined);
        p.phase('verifying');
        try {
          canary = await p.step(
            'read canary with verifier',
            () => verify.verifyCanary({ target: input.target, cluster: input.cluster, expectedNonce: chosen.canaryNonce }),
            (c) => `nonce ${c.nonce} written ${c.writtenAt}`,
          );
        } catch (err) {
          if (failureTypeOf(err) !== FailureType.VaultSealed) throw err;
          const last = p.log.steps[p.log.steps.length - 1];
          last.outcome = 'skipped';
          last.detail = 'target sealed itself once the restored keyring applied (Shamir); waiting for unseal';
        }
      }
      r.secretsReadableSeconds = readable.met();
      r.checks.push({ name: 'canary reads back with the expected nonce', ok: true, detail: canary.nonce });
      r.recoveryPointSeconds = Math.round((Date.parse(startedAt) - Date.parse(canary.writtenAt)) / 1000);
      if (input.checkDatabase) {
        const db = await p.step('dynamic database credential logs in', () => verify.verifyDatabaseCredentials({ target: input.target }), (d) => `logged in as ${d.loggedInAs}; lease revoked`);
        r.checks.push({ name: `database/creds/${db.role} logs in to PostgreSQL, lease revoked`, ok: db.leaseRevoked, detail: db.loggedInAs });
      }
      r.wholeRestoreSeconds = whole.met();
      p.phase('verified');
    },
  );
}

type Candidate = { key: string; canaryNonce?: string; storage: string };

const nameOf = (key: string) => key.slice(key.lastIndexOf('/') + 1);

/**
 * The restore's storages in order (its own first, then the others), each catalog listed at
 * most once and only when needed, so a restore whose first storage answers does exactly what
 * it did before there was a second one. An unreachable storage is recorded and not asked again.
 */
function storageSources(p: Procedure, input: RestoreInput, r: RestoreDetails) {
  const order = [input.storage, ...(input.otherStorages ?? []).filter((s) => s !== input.storage)];
  const catalogs = new Map<string, SnapshotMeta[] | undefined>();
  const skip = (storage: string, reason: string, key?: string) => {
    (r.storagesSkipped ??= []).push({ storage, ...(key ? { key } : {}), reason });
    p.finding(`storage ${storage} skipped${key ? ` for ${nameOf(key)}` : ''}: ${reason}`);
  };
  /** The storage's catalog, or undefined when it is unreachable. */
  const catalogOf = async (storage: string): Promise<SnapshotMeta[] | undefined> => {
    if (catalogs.has(storage)) return catalogs.get(storage);
    const name = storage === input.storage ? 'list verified snapshots' : `list verified snapshots in ${storage}`;
    let list: SnapshotMeta[] | undefined;
    try {
      list = await p.step(name, () => storageQuick.listSnapshots({ storage, cluster: input.cluster }), (l) => `${l.length} in catalog`);
    } catch (err) {
      if (failureTypeOf(err) !== FailureType.StorageUnreachable) throw err;
      skip(storage, failureMessage(err));
    }
    catalogs.set(storage, list);
    return list;
  };
  return {
    order,
    skip,
    isUnreachable: (storage: string) => catalogs.has(storage) && catalogs.get(storage) === undefined,
    unreachable: (storage: string, reason: string) => {
      catalogs.set(storage, undefined);
      skip(storage, reason);
    },
    /** The catalog of the first storage that answers. */
    async firstCatalog(): Promise<{ storage: string; catalog: SnapshotMeta[] }> {
      for (const storage of order) {
        const catalog = await catalogOf(storage);
        if (catalog) return { storage, catalog };
      }
      throw noStorageReached(r);
    },
    /** Where `storage` keeps the snapshot named like `key`; undefined (recorded) when unreachable or not there. */
    async keyIn(storage: string, key: string): Promise<string | undefined> {
      const catalog = await catalogOf(storage);
      if (!catalog) return undefined;
      const found = catalog.find((m) => nameOf(m.key) === nameOf(key));
      if (!found) skip(storage, `${nameOf(key)} is not in its catalog (its upload there failed, or retention removed it)`, key);
      return found?.key;
    },
  };
}

const noStorageReached = (r: RestoreDetails) =>
  fail(
    FailureType.StorageUnreachable,
    `no snapshot storage could be reached (${(r.storagesSkipped ?? []).map((s) => `${s.storage}: ${s.reason}`).join('; ')}); bring one back or fix the worker's network path to it, then run the restore again`,
  );

/**
 * Downloads and re-verifies the first candidate that verifies, trying each storage's copy of
 * it in order before falling back to an older snapshot. Copies that fail are recorded per
 * storage; a snapshot no storage gave a good copy of is recorded as skipped.
 */
async function downloadFirstGood(p: Procedure, input: RestoreInput, candidates: Candidate[], r: RestoreDetails, stores: ReturnType<typeof storageSources>) {
  for (const c of candidates) {
    if (r.skipped.some((s) => s.key === c.key)) continue;
    const reasons: string[] = [];
    for (const from of stores.order) {
      if (stores.isUnreachable(from)) continue;
      const key = from === c.storage ? c.key : await stores.keyIn(from, c.key);
      if (!key) continue;
      try {
        const step = from === input.storage ? `download and verify ${key}` : `download and verify ${key} from ${from}`;
        const got = await p.step(step, () => storage.downloadSnapshot({ storage: from, key }), (g) => `${g.bytes} bytes, sha256 ok, archive ok`);
        return { ...c, key, storage: from, file: got.file, hostTaskQueue: got.hostTaskQueue };
      } catch (err) {
        const type = failureTypeOf(err) ?? '';
        if (!FALLBACK_TYPES.includes(type)) throw err;
        reasons.push(failureMessage(err));
        if (type === FailureType.StorageUnreachable) stores.unreachable(from, failureMessage(err));
        else if (stores.order.length > 1) stores.skip(from, failureMessage(err), key);
      }
    }
    r.skipped.push({ key: c.key, reason: reasons.join('; ') || `no storage could be asked for it (${stores.order.join(', ')})` });
  }
  if (stores.order.every((s) => stores.isUnreachable(s))) {
    throw noStorageReached(r);
  }
  throw fail(FailureType.SnapshotCorrupt, `none of the ${candidates.length} newest snapshots verified (${r.skipped.map((s) => s.key).join(', ')}); investigate the storage`);
}

/** Activities on the host that staged a file (or the shared queue when the worker runs no host queue). */
function onHost(hostTaskQueue: string | undefined) {
  return hostTaskQueue ? proxyActivities<Vault>({ ...profiles.destructive, taskQueue: hostTaskQueue, scheduleToStartTimeout: '1 minute' }) : destructive;
}

/** The host stopped polling its queue before it took the step (crashed or replaced). */
function hostGone(err: unknown): boolean {
  return err instanceof ActivityFailure && err.cause instanceof TimeoutFailure && err.cause.timeoutType === TimeoutType.SCHEDULE_TO_START;
}

/** Removes a downloaded copy on its host; a host that is gone took its staging with it. */
async function discardOnHost(file: string, hostTaskQueue: string | undefined): Promise<string | undefined> {
  const staging = proxyActivities<Staging>({ ...profiles.quick, ...(hostTaskQueue ? { taskQueue: hostTaskQueue, scheduleToStartTimeout: '30 seconds' } : {}) });
  try {
    await staging.discardStagedFile({ file });
    return undefined;
  } catch (err) {
    if (hostGone(err)) return `host ${hostTaskQueue} is gone, and its staging directory with it`;
    throw err;
  }
}

/** Polls seal status until the target is active; while sealed, shows the unseal progress. */
async function waitUnsealedActive(input: RestoreInput, p: Procedure, nudged: () => boolean, resetNudge: () => void): Promise<SealStatus> {
  const pollMs = (input.pollSeconds ?? 5) * 1000;
  for (;;) {
    const st: SealStatus = await quick.targetStatus({ target: input.target });
    if (st.state === 'active') return st;
    if (st.sealed) {
      p.status.unseal = { progress: st.progress, threshold: st.threshold };
      p.phase(`sealed, waiting for unseal: ${st.progress} of ${st.threshold} key shares`);
      p.humanAction(`unseal ${input.target}: ${st.threshold - st.progress} more key share(s) with \`secdr unseal --target … --workflow ID\``);
    } else {
      p.phase(`restored data applying (${st.state})`);
    }
    if (elapsedSeconds() > input.slo.hardLimitSeconds) {
      throw fail(FailureType.SloBreached, `target ${input.target} still ${p.status.phase} after the hard limit of ${input.slo.hardLimitSeconds} s`);
    }
    resetNudge();
    await condition(nudged, pollMs);
  }
}
