import {
  ActivityFailure,
  ApplicationFailure,
  condition,
  defineQuery,
  defineSignal,
  proxyActivities,
  setHandler,
  sleep,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { createAlertActivities } from '../activities/alertmanager';
import type { createMetricsActivities } from '../activities/metrics';
import type { createReportActivities, RestoreReport, SloResult } from '../activities/reports';
import type { createStorageActivities } from '../activities/storage';
import type { createVaultActivities, SealStatus } from '../activities/vault';
import { FailureType } from '../lib/failure-types';
import { SA } from '../lib/search-attributes';
import { profiles } from './activity-profiles';
import { elapsedSeconds, StepLog, type Step } from './steps';

type Vault = ReturnType<typeof createVaultActivities>;
type Storage = ReturnType<typeof createStorageActivities>;

const quick = proxyActivities<Vault>(profiles.quick);
const destructive = proxyActivities<Vault>(profiles.destructive);
const verify = proxyActivities<Vault>(profiles.verify);
const storage = proxyActivities<Storage>(profiles.streaming);
const storageQuick = proxyActivities<Storage>(profiles.quick);
const side = proxyActivities<ReturnType<typeof createMetricsActivities> & ReturnType<typeof createReportActivities> & ReturnType<typeof createAlertActivities>>(
  profiles.sideEffect,
);

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

export interface RestoreStatus {
  phase: string;
  step?: string;
  unseal?: { progress: number; threshold: number };
  snapshot?: string;
  breaches: SloResult[];
  steps: Step[];
}

export const restoreStatusQuery = defineQuery<RestoreStatus>('status');
/** Sent by `secdr unseal` after it delivered shares, so the workflow re-checks at once. */
export const unsealProgressSignal = defineSignal('unsealProgress');

const FALLBACK_TYPES: string[] = [FailureType.SnapshotCorrupt, FailureType.SnapshotNotFound];

function failureType(err: unknown): string | undefined {
  if (err instanceof ActivityFailure && err.cause instanceof ApplicationFailure) return err.cause.type ?? undefined;
  if (err instanceof ApplicationFailure) return err.type ?? undefined;
  return undefined;
}

function message(err: unknown): string {
  if (err instanceof ActivityFailure && err.cause) return err.cause.message;
  return err instanceof Error ? err.message : String(err);
}

/**
 * Restore-and-verify into a fresh cluster. The SLOs are workflow timers measured
 * from the workflow's start: a breach is recorded (with the measured time) and
 * alerted on when the timer fires, while the restore keeps going until the hard limit.
 */
export async function vaultRestoreWorkflow(input: RestoreInput): Promise<RestoreReport> {
  const log = new StepLog();
  const status: RestoreStatus = { phase: 'starting', breaches: [], steps: log.steps };
  let unsealNudged = false;
  setHandler(restoreStatusQuery, () => ({ ...status, step: log.current?.name }));
  setHandler(unsealProgressSignal, () => void (unsealNudged = true));
  upsertSearchAttributes([
    { key: SA.cluster, value: input.cluster },
    { key: SA.procedure, value: 'vault-restore' },
  ]);

  const startedAt = new Date().toISOString();
  let secretsReadableAfter: number | undefined;
  let finishedAfter: number | undefined;

  const breach = async (slo: string, limitSeconds: number): Promise<void> => {
    const b: SloResult = { slo, limitSeconds, measuredSeconds: undefined, breachedAtSeconds: elapsedSeconds(), met: false };
    status.breaches.push(b);
    upsertSearchAttributes([{ key: SA.sloBreached, value: true }]);
    await side
      .postAlert({
        alertname: 'SecdrRestoreSloBreached',
        severity: 'critical',
        labels: { cluster: input.cluster, target: input.target, slo },
        summary: `restore of ${input.cluster} into ${input.target}: ${slo} not met within ${limitSeconds} s`,
        workflowId: workflowInfo().workflowId,
      })
      .catch(() => undefined);
  };
  // SLO timers run beside the procedure; they fire at the limit even while a step is stuck.
  const watchers = [
    condition(() => secretsReadableAfter !== undefined, input.slo.secretsReadableSeconds * 1000).then((met) =>
      met ? undefined : breach('secrets readable', input.slo.secretsReadableSeconds),
    ),
    condition(() => finishedAfter !== undefined, input.slo.wholeRestoreSeconds * 1000).then((met) =>
      met ? undefined : breach('whole restore', input.slo.wholeRestoreSeconds),
    ),
  ];

  const report: RestoreReport = {
    workflowId: workflowInfo().workflowId,
    cluster: input.cluster,
    target: input.target,
    storage: input.storage,
    startedAt,
    outcome: 'failed',
    skipped: [],
    checks: [],
    slos: [],
    steps: log.steps,
  };

  try {
    // 1. Choose candidates: the named snapshot or the newest verified, then older ones.
    status.phase = 'choosing snapshot';
    const catalog = await log.run('list verified snapshots', () => storageQuick.listSnapshots({ storage: input.storage, cluster: input.cluster }), (l) => `${l.length} in catalog`);
    let ordered = catalog;
    if (input.snapshot && input.snapshot !== 'latest') {
      const i = catalog.findIndex((s) => s.key === input.snapshot || s.key.endsWith(`/${input.snapshot}`));
      if (i < 0) {
        throw ApplicationFailure.create({
          type: FailureType.SnapshotNotFound,
          nonRetryable: true,
          message: `snapshot ${input.snapshot} is not in the catalog of ${input.storage} for cluster ${input.cluster}; run \`secdr snapshot list\``,
        });
      }
      ordered = catalog.slice(i);
    }
    const candidates = ordered.slice(0, input.fallbackAttempts + 1);
    if (candidates.length === 0) {
      throw ApplicationFailure.create({
        type: FailureType.SnapshotNotFound,
        nonRetryable: true,
        message: `no verified snapshot of ${input.cluster} in ${input.storage}; take one with \`secdr snapshot --cluster ${input.cluster}\``,
      });
    }

    // 2. Download and re-verify; a corrupt or missing one falls back to the previous.
    status.phase = 'downloading snapshot';
    let chosen: { key: string; file: string; canaryNonce?: string; canaryWrittenAt?: string } | undefined;
    for (const c of candidates) {
      try {
        const got = await log.run(`download and verify ${c.key}`, () => storage.downloadSnapshot({ storage: input.storage, key: c.key }), (g) => `${g.bytes} bytes, sha256 ok, archive ok`);
        chosen = { key: c.key, file: got.file, canaryNonce: c.canaryNonce, canaryWrittenAt: c.canaryWrittenAt };
        break;
      } catch (err) {
        if (!FALLBACK_TYPES.includes(failureType(err) ?? '')) throw err;
        report.skipped.push({ key: c.key, reason: message(err) });
      }
    }
    if (!chosen) {
      throw ApplicationFailure.create({
        type: FailureType.SnapshotCorrupt,
        nonRetryable: true,
        message: `none of the ${candidates.length} newest snapshots verified (${report.skipped.map((s) => s.key).join(', ')}); investigate the storage`,
      });
    }
    report.snapshot = chosen.key;
    status.snapshot = chosen.key;

    // 3. Init + force-restore on the fresh target (one activity: the root token never leaves it).
    status.phase = 'restoring';
    const restored = await log.run(
      'init target and force-restore',
      () => destructive.restoreSnapshot({ target: input.target, candidates: [{ key: chosen!.key, file: chosen!.file }] }),
      (r) => `restored ${r.used}`,
    );
    report.skipped.push(...restored.rejected);

    // 4. Restore applies in the background: wait until unsealed and active, then read
    // the canary. A Shamir target stays active for a few seconds after the 204 and only
    // then seals (the restored keyring needs the source's keys), so a sealed answer to
    // the canary read sends the workflow back to waiting.
    let canary: Awaited<ReturnType<Vault['verifyCanary']>> | undefined;
    while (!canary) {
      await log.run('wait until unsealed and active', () => waitUnsealedActive(input, status, () => unsealNudged, () => void (unsealNudged = false)));
      status.unseal = undefined;
      status.phase = 'verifying';
      try {
        canary = await log.run(
          'read canary with verifier',
          () => verify.verifyCanary({ target: input.target, cluster: input.cluster, expectedNonce: chosen!.canaryNonce }),
          (c) => `nonce ${c.nonce} written ${c.writtenAt}`,
        );
      } catch (err) {
        if (failureType(err) !== FailureType.VaultSealed) throw err;
        const last = log.steps[log.steps.length - 1];
        last.outcome = 'skipped';
        last.detail = 'target sealed itself once the restored keyring applied (Shamir); waiting for unseal';
      }
    }
    secretsReadableAfter = elapsedSeconds();
    report.checks.push({ name: 'canary reads back with the expected nonce', ok: true, detail: canary.nonce });
    report.recoveryPointSeconds = Math.round((Date.parse(startedAt) - Date.parse(canary.writtenAt)) / 1000);
    if (input.checkDatabase) {
      const db = await log.run('dynamic database credential logs in', () => verify.verifyDatabaseCredentials({ target: input.target }), (d) => `logged in as ${d.loggedInAs}; lease revoked`);
      report.checks.push({ name: `database/creds/${db.role} logs in to PostgreSQL, lease revoked`, ok: db.leaseRevoked, detail: db.loggedInAs });
    }
    finishedAfter = elapsedSeconds();
    report.outcome = 'verified';
    status.phase = 'verified';
  } catch (err) {
    report.error = message(err);
    status.phase = `failed: ${report.error}`;
    finishedAfter ??= elapsedSeconds();
  } finally {
    report.finishedAt = new Date().toISOString();
    report.secretsReadableSeconds = secretsReadableAfter;
    report.wholeRestoreSeconds = report.outcome === 'verified' ? finishedAfter : undefined;
    await Promise.race([Promise.all(watchers), sleep(1)]);
    report.slos = [
      sloResult('secrets readable', input.slo.secretsReadableSeconds, secretsReadableAfter, status.breaches),
      sloResult('whole restore', input.slo.wholeRestoreSeconds, report.wholeRestoreSeconds, status.breaches),
    ];
    upsertSearchAttributes([{ key: SA.outcome, value: report.outcome }]);
    if (report.outcome === 'verified') {
      await side.recordRestoreVerified({ cluster: input.cluster, at: report.finishedAt, slos: report.slos }).catch(() => undefined);
    }
    const paths = await side.writeRestoreReport(report).catch(() => undefined);
    report.reportFiles = paths;
  }
  if (report.outcome !== 'verified') {
    throw ApplicationFailure.create({
      type: FailureType.VerificationFailed,
      nonRetryable: true,
      message: `restore of ${input.cluster} into ${input.target} failed: ${report.error}`,
      details: [report],
    });
  }
  return report;
}

/** Polls seal status until the target is active; while sealed, shows the unseal progress. */
async function waitUnsealedActive(input: RestoreInput, status: RestoreStatus, nudged: () => boolean, resetNudge: () => void): Promise<SealStatus> {
  const pollMs = (input.pollSeconds ?? 5) * 1000;
  for (;;) {
    const st: SealStatus = await quick.targetStatus({ target: input.target });
    if (st.state === 'active') return st;
    if (st.sealed) {
      status.unseal = { progress: st.progress, threshold: st.threshold };
      status.phase = `sealed, waiting for unseal: ${st.progress} of ${st.threshold} key shares`;
    } else {
      status.phase = `restored data applying (${st.state})`;
    }
    if (elapsedSeconds() > input.slo.hardLimitSeconds) {
      throw ApplicationFailure.create({
        type: FailureType.SloBreached,
        nonRetryable: true,
        message: `target ${input.target} still ${status.phase} after the hard limit of ${input.slo.hardLimitSeconds} s`,
      });
    }
    resetNudge();
    await condition(nudged, pollMs);
  }
}

function sloResult(slo: string, limitSeconds: number, measured: number | undefined, breaches: SloResult[]): SloResult {
  const breach = breaches.find((b) => b.slo === slo);
  return {
    slo,
    limitSeconds,
    measuredSeconds: measured,
    breachedAtSeconds: breach?.breachedAtSeconds,
    met: measured !== undefined && measured <= limitSeconds,
  };
}
