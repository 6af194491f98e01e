import { TimeoutType } from '@temporalio/common';
import { ActivityFailure, condition, defineQuery, defineSignal, proxyActivities, setHandler, TimeoutFailure } from '@temporalio/workflow';
import type { createStagingActivities } from '../activities/staging';
import type { createStorageActivities } from '../activities/storage';
import type { createVaultActivities, SealStatus } from '../activities/vault';
import { fail, FailureType, failureMessage, failureTypeOf } from '../lib/fail';
import type { RestoreDetails, RestoreReport } from '../lib/reports/restore';
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

const FALLBACK_TYPES: string[] = [FailureType.SnapshotCorrupt, FailureType.SnapshotNotFound];

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
      const catalog = await p.step('list verified snapshots', () => storageQuick.listSnapshots({ storage: input.storage, cluster: input.cluster }), (l) => `${l.length} in catalog`);
      let ordered = catalog;
      if (input.snapshot && input.snapshot !== 'latest') {
        const i = catalog.findIndex((s) => s.key === input.snapshot || s.key.endsWith(`/${input.snapshot}`));
        if (i < 0) {
          throw fail(FailureType.SnapshotNotFound, `snapshot ${input.snapshot} is not in the catalog of ${input.storage} for cluster ${input.cluster}; run \`secdr snapshot list\``);
        }
        ordered = catalog.slice(i);
      }
      const candidates = ordered.slice(0, input.fallbackAttempts + 1);
      if (candidates.length === 0) {
        throw fail(FailureType.SnapshotNotFound, `no verified snapshot of ${input.cluster} in ${input.storage}; take one with \`secdr snapshot --cluster ${input.cluster}\``);
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
        const got = await downloadFirstGood(p, input, candidates, r);
        r.snapshot = got.key;
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

type Candidate = { key: string; canaryNonce?: string };

/** Downloads and re-verifies the first candidate that verifies; corrupt or missing ones are recorded as skipped. */
async function downloadFirstGood(p: Procedure, input: RestoreInput, candidates: Candidate[], r: RestoreDetails) {
  for (const c of candidates) {
    if (r.skipped.some((s) => s.key === c.key)) continue;
    try {
      const got = await p.step(`download and verify ${c.key}`, () => storage.downloadSnapshot({ storage: input.storage, key: c.key }), (g) => `${g.bytes} bytes, sha256 ok, archive ok`);
      return { ...c, file: got.file, hostTaskQueue: got.hostTaskQueue };
    } catch (err) {
      if (!FALLBACK_TYPES.includes(failureTypeOf(err) ?? '')) throw err;
      r.skipped.push({ key: c.key, reason: failureMessage(err) });
    }
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
