import { Context, log } from '@temporalio/activity';
import { randomUUID } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { Client as PgClient } from 'pg';
import { cancellationSignal, heartbeat } from './activity-context';
import { clusterNamed, storageNamed, targetNamed } from '../lib/config/lookup';
import type { ClusterConfig, RestoreTarget, SecdrConfig } from '../lib/config/schema';
import { fail, FailureType } from '../lib/fail';
import { noteSecret } from '../lib/secret-registry';
import { componentByName, platformFor } from '../lib/platform';
import { login, vaultApi, vaultFailure } from '../lib/vault/client';
import { fetchWithCa, findActiveNode, nodeHealth } from '../lib/vault/health';
import { takeAndStore } from '../lib/snapshot/take-and-store';
import { createStore, type SnapshotStore } from '../lib/storage/snapshot-store';

/** What the snapshot step hands on: no secrets, just where and what. */
export interface TakenSnapshot {
  cluster: string;
  node: string;
  /** The local staging copy, kept only when the cluster's localRetentionDays > 0. */
  file?: string;
  fileName: string;
  takenAt: string;
  bytes: number;
  sha256: string;
  raftIndex: number;
  raftTerm: number;
  keys: number;
  /** Every storage it was uploaded to, read back and cataloged in, in the order asked. */
  uploads: { storage: string; location: string; sseKmsKeyId?: string }[];
}

export interface Canary {
  nonce: string;
  writtenAt: string;
}

export interface SealStatus {
  state: string;
  initialized: boolean;
  sealed: boolean;
  /** Unseal key shares entered so far, and how many are needed (Shamir). */
  progress: number;
  threshold: number;
}

export interface RestoreCandidate {
  key: string;
  /** Local, already verified copy of the snapshot. */
  file: string;
}

const SNAPSHOT_POLICY = 'secdr-snapshot';
const VERIFIER_POLICY = 'secdr-verifier';

function stamp(d: Date): string {
  return d.toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
}

/** How long a sealed restore target must stay sealed to count (longer than auto-unseal's 5 s start-up retry), and how often secdr seals it again. */
const SEAL_HOLD_MS = 7_000;
const SEAL_ATTEMPTS = 3;

/**
 * Seals a node and checks the seal holds. An auto-unseal server keeps retrying its stored-key
 * unseal every 5 s from start-up until one attempt finds it unsealed, so a seal inside that
 * window is undone seconds later (seen with OpenBao's static seal on a freshly started target).
 * The seal counts only once it has held past that loop; returns the attempt on which it held.
 */
export async function sealUntilItHolds(target: Pick<RestoreTarget, 'name' | 'address' | 'caFile'>, seal: () => Promise<void>, holdMs = SEAL_HOLD_MS): Promise<number> {
  for (let attempt = 1; attempt <= SEAL_ATTEMPTS; attempt++) {
    await seal();
    if (!(await unsealedAgainWithin(target, holdMs))) return attempt;
    log.warn('restore target unsealed itself again after sys/seal; sealing again', { target: target.name, attempt });
  }
  throw fail(
    FailureType.VaultRequestFailed,
    `target ${target.name}: unsealed itself again after each of ${SEAL_ATTEMPTS} seals (${target.address}); ` +
      'sys/seal cannot keep it sealed: set restore.targets[].after: stop with a component so secdr stops it instead',
  );
}

/** Watches a just-sealed node for `ms`: true as soon as it answers unsealed again. */
async function unsealedAgainWithin(target: Pick<RestoreTarget, 'address' | 'caFile'>, ms: number): Promise<boolean> {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    await new Promise((resolve) => setTimeout(resolve, 500));
    const health = await nodeHealth(target.address, target.caFile);
    heartbeat({ waitingFor: 'seal to hold', state: health.state });
    if (health.state === 'active' || health.state === 'standby' || health.state === 'perf-standby') return true;
  }
  return false;
}

/** Polls until the node is active (or in one of `accept`), heartbeating the state it saw; returns that state. */
async function waitActive(address: string, caFile: string | undefined, timeoutMs: number, accept: string[] = ['active']): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  let state = 'unknown';
  while (Date.now() < deadline) {
    state = (await nodeHealth(address, caFile)).state;
    if (accept.includes(state)) return state;
    heartbeat({ waitingFor: 'active', state });
    // 100 ms: a fresh target turns active within a second or two; a coarser poll adds up to its whole period to every restore.
    await new Promise((r) => setTimeout(r, 100));
  }
  throw fail(FailureType.VaultNoActiveNode, `${address} did not become active within ${timeoutMs / 1000} s (last state: ${state}); check its log and raft state`);
}

function safeJson(text: string): { errors?: string[] } {
  try {
    return JSON.parse(text) as { errors?: string[] };
  } catch {
    return { errors: text ? [text.slice(0, 200)] : [] };
  }
}

/** Vault activities; credentials are read from the worker's config inside each call. */
/**
 * An auto-unseal target whose KMS cannot be reached cannot initialise or unseal: say so
 * at once, naming the KMS, instead of waiting for the restore's hard limit.
 */
async function assertKmsReachable(targetName: string, kms: NonNullable<RestoreTarget['kms']>): Promise<void> {
  const h = await nodeHealth(kms.address, kms.caFile, 5000);
  const ok = kms.type === 'awskms' ? h.state !== 'unreachable' : h.state === 'active' || h.state === 'standby' || h.state === 'perf-standby';
  if (ok) return;
  const why = h.state === 'unreachable' ? (h.error ?? 'unreachable') : `${kms.address} answers ${h.state}`;
  throw fail(
    FailureType.SealKmsUnavailable,
    `target ${targetName}: its seal's KMS (${kms.type}) at ${kms.address} is unavailable (${why}); the target cannot initialise or unseal without it. ` +
      'Restore into a target whose seal uses a reachable copy of the key (a replica KMS in another region, docs/runbooks/vault-restore.md), or into a Shamir-sealed target',
    { kms: kms.address, unreachable: h.unreachable ?? h.state },
  );
}

/** The configured cluster that `address` is a node of: a source, which secdr never restores over or seals. */
function sourceClusterAt(config: SecdrConfig, address: string): ClusterConfig | undefined {
  const norm = (a: string) => a.replace(/\/$/, '');
  return config.clusters.find((c) => c.nodes.some((n) => norm(n) === norm(address)));
}

/**
 * A target that already holds data: only an earlier restore of the same source may be
 * overwritten, proven by the restorer AppRole (which exists only in the source's data)
 * logging in. Anything else is refused with what to do.
 */
async function forceRestoreOverEarlierRestore(
  config: SecdrConfig,
  target: RestoreTarget,
  state: string,
  candidates: RestoreCandidate[],
): Promise<{ used: string; rejected: { key: string; reason: string }[] }> {
  const refuse = (why: string) =>
    fail(
      FailureType.VaultAlreadyInitialized,
      `target ${target.name} (${target.address}) is already initialised; secdr restores only into a fresh cluster or over an earlier restore of the same source, and ${why}. ` +
        'Wipe its raft data (or provision a new one) and re-run, or choose another target',
    );
  // The restorer exists in the source too: never let a restore overwrite a configured source node.
  const source = sourceClusterAt(config, target.address);
  if (source) throw refuse(`it is a node of cluster ${source.name} (a source, never a restore target)`);
  if (state === 'sealed') {
    throw refuse(
      `sealed with keys secdr does not have; unseal it by hand, or set restore.targets[].component so the next run can restart an auto-unseal target`,
    );
  }
  if (!target.restorer) throw refuse('restore.targets[].restorer is not configured, so secdr cannot tell whose data it holds (deploy/vault/policies/secdr-restorer.hcl)');
  let token: string;
  try {
    token = await login(target.address, target.restorer, target.caFile, `target ${target.name} restorer`);
  } catch (err) {
    throw refuse(`the restorer AppRole from the source's data does not log in (${(err as Error).message}): it holds something else`);
  }
  const rejected: { key: string; reason: string }[] = [];
  for (const candidate of candidates) {
    const res = await postSnapshot(target, token, candidate, 'earlier restore');
    if (res.ok) return { used: candidate.key, rejected };
    if (res.status === 403) {
      throw vaultFailure({ response: { statusCode: 403, body: { errors: [res.reason] } } }, `target ${target.name}: force-restore`, 'sys/storage/raft/snapshot-force', 'secdr-restorer');
    }
    rejected.push({ key: candidate.key, reason: res.reason });
  }
  throw fail(FailureType.RestoreRejected, `target ${target.name}: Vault rejected every candidate snapshot (${rejected.map((r) => `${r.key}: ${r.reason}`).join('; ')})`, { rejected });
}

/** Heartbeat period of a force-restore upload and of the wait for Vault's answer: well inside the destructive profile's 2-minute heartbeatTimeout. */
const UPLOAD_HEARTBEAT_MS = 3_000;

/** What a force-restore heartbeats: the snapshot key and byte counts, never the token that authorises it. */
export interface UploadProgress {
  restoring: string;
  over?: 'earlier restore';
  bytesSent: number;
  bytes: number;
  phase: 'uploading' | "waiting for Vault's answer";
}

/**
 * POSTs a snapshot to snapshot-force, heartbeating the bytes sent while the body streams (at most
 * every UPLOAD_HEARTBEAT_MS, and once when the last byte is sent) and on an interval while Vault
 * reads and applies it before answering: a large snapshot on a slow link takes minutes, and a
 * silent activity would hit the heartbeat timeout and cut a restore that was going well. The
 * heartbeats also let a cancellation reach the upload, which it then aborts.
 */
async function postSnapshot(
  target: RestoreTarget,
  token: string,
  candidate: RestoreCandidate,
  over?: UploadProgress['over'],
): Promise<{ ok: boolean; status: number; reason: string }> {
  const bytes = (await stat(candidate.file)).size;
  const progress: UploadProgress = { restoring: candidate.key, ...(over ? { over } : {}), bytesSent: 0, bytes, phase: 'uploading' };
  let lastBeat = 0;
  const beat = () => {
    lastBeat = Date.now();
    heartbeat({ ...progress });
  };
  async function* counted(): AsyncGenerator<Buffer> {
    for await (const chunk of createReadStream(candidate.file) as AsyncIterable<Buffer>) {
      progress.bytesSent += chunk.length;
      if (Date.now() - lastBeat >= UPLOAD_HEARTBEAT_MS) beat();
      yield chunk;
    }
    progress.phase = "waiting for Vault's answer";
    beat();
  }
  beat();
  const timer = setInterval(() => Date.now() - lastBeat >= UPLOAD_HEARTBEAT_MS && beat(), UPLOAD_HEARTBEAT_MS);
  const cancelled = cancellationSignal();
  const limit = AbortSignal.timeout(3600_000);
  try {
    const res = await fetchWithCa(`${target.address}/v1/sys/storage/raft/snapshot-force`, target.caFile, 3600_000, {
      method: 'POST',
      headers: { 'X-Vault-Token': token, 'Content-Type': 'application/octet-stream' },
      body: Readable.toWeb(Readable.from(counted())) as unknown as RequestInit['body'],
      duplex: 'half',
      signal: cancelled ? AbortSignal.any([limit, cancelled]) : limit,
    } as RequestInit);
    const text = await res.text().catch(() => '');
    return { ok: res.status === 204 || res.status === 200, status: res.status, reason: `Vault answered ${res.status}: ${safeJson(text).errors?.join('; ') ?? ''}` };
  } finally {
    clearInterval(timer);
  }
}

/** What verifyDatabaseCredentials heartbeats: the lease id of the credential it issued (an id, not a secret). */
export interface DatabaseCheckProgress {
  databaseLease: string;
}

/** The heartbeat details the previous attempt of this activity recorded, if this is a retry. */
function previousAttempt<T>(): Partial<T> | undefined {
  try {
    return (Context.current().info.heartbeatDetails as Partial<T> | undefined) ?? undefined;
  } catch {
    return undefined; // not in an activity
  }
}

export function createVaultActivities(config: SecdrConfig) {
  const stores = new Map<string, SnapshotStore>();
  const storeFor = (name: string): SnapshotStore => {
    let store = stores.get(name);
    if (!store) stores.set(name, (store = createStore(storageNamed(config, name))));
    return store;
  };
  return {
    /** The cluster's active node; typed failures for sealed/uninitialised/no leader. */
    async findActiveNode(input: { cluster: string }): Promise<string> {
      const cluster = clusterNamed(config, input.cluster);
      return findActiveNode(cluster.name, cluster.nodes, cluster.caFile);
    },

    /** Writes a fresh canary (nonce + time) that a restore must read back. */
    async writeCanary(input: { cluster: string }): Promise<Canary> {
      const cluster = clusterNamed(config, input.cluster);
      const address = await findActiveNode(cluster.name, cluster.nodes, cluster.caFile);
      const token = await login(address, cluster.auth, cluster.caFile, `cluster ${cluster.name}`);
      const canary = { nonce: randomUUID(), writtenAt: new Date().toISOString() };
      const path = `${cluster.canary.mount}/data/${cluster.canary.path}`;
      try {
        await vaultApi(address, { token, caFile: cluster.caFile }).write(path, { data: { ...canary, cluster: cluster.name } });
      } catch (err) {
        throw vaultFailure(err, `cluster ${cluster.name}: writing the canary`, path, SNAPSHOT_POLICY);
      }
      return canary;
    },

    /**
     * The snapshot pipeline in one pass (lib/snapshot/take-and-store.ts): streams the raft
     * snapshot from the active node into every storage at once while verifying and hashing
     * it; only a verified archive is completed, read back and cataloged. The staging copy is
     * written in the same pass, and only when local retention is configured.
     */
    async takeSnapshot(input: { cluster: string; storages: string[]; canary: Canary }): Promise<TakenSnapshot> {
      const cluster = clusterNamed(config, input.cluster);
      const stores = input.storages.map(storeFor);
      // A retry after a leader died mid-stream lands in the election: wait for the new leader (within the heartbeat timeout) instead of burning the attempt.
      const address = await findActiveNode(cluster.name, cluster.nodes, cluster.caFile, {
        electionWaitMs: 45_000,
        onWait: (states) => heartbeat({ waitingFor: 'leader election', states }),
      });
      const token = await login(address, cluster.auth, cluster.caFile, `cluster ${cluster.name}`);
      const takenAt = new Date();
      const fileName = `vault-${cluster.name}-${stamp(takenAt)}.snap`;
      const r = await takeAndStore({
        address,
        token,
        caFile: cluster.caFile,
        cluster: cluster.name,
        fileName,
        takenAt,
        stores,
        localCopy: cluster.localRetentionDays > 0 ? join(cluster.stagingDir, fileName) : undefined,
        canary: input.canary,
        onBytes: (bytes) => heartbeat({ bytes }),
        signal: cancellationSignal(),
        policy: SNAPSHOT_POLICY,
      });
      return {
        cluster: cluster.name,
        node: address,
        file: r.localCopy,
        fileName,
        takenAt: takenAt.toISOString(),
        bytes: r.bytes,
        sha256: r.sha256,
        raftIndex: r.raftIndex,
        raftTerm: r.raftTerm,
        keys: r.keys,
        uploads: r.uploads.map((u) => ({ storage: u.storage, location: u.location, sseKmsKeyId: u.sseKmsKeyId })),
      };
    },

    /** Seal state of a restore target, for the workflow's unseal wait and the CLI. */
    async targetStatus(input: { target: string }): Promise<SealStatus> {
      const target = targetNamed(config, input.target);
      const health = await nodeHealth(target.address, target.caFile);
      // While a restore applies, seal-status can take seconds to answer.
      const res = await fetchWithCa(`${target.address}/v1/sys/seal-status`, target.caFile, 20_000);
      if (res.status !== 200) throw fail(FailureType.VaultRequestFailed, `target ${target.name}: sys/seal-status answered ${res.status}`);
      const s = (await res.json()) as { initialized: boolean; sealed: boolean; progress: number; t: number };
      return { state: health.state, initialized: s.initialized, sealed: s.sealed, progress: s.progress, threshold: s.t };
    },

    /**
     * Initialises the fresh target and force-restores the first candidate it
     * accepts, in one activity: the temporary root token and init keys exist only
     * in this function's memory. A target that is already initialised is refused.
     */
    async restoreSnapshot(input: { target: string; candidates: RestoreCandidate[] }): Promise<{
      used: string;
      rejected: { key: string; reason: string }[];
    }> {
      const target = targetNamed(config, input.target);
      if (target.kms) await assertKmsReachable(target.name, target.kms);
      const health = await nodeHealth(target.address, target.caFile);
      if (health.state === 'unreachable') throw fail(FailureType.VaultUnreachable, `target ${target.name} (${target.address}) is unreachable: ${health.error ?? health.status}`);
      if (health.initialized) return forceRestoreOverEarlierRestore(config, target, health.state, input.candidates);
      const api = vaultApi(target.address, { caFile: target.caFile });
      const shamir = target.shamir ?? { shares: 1, threshold: 1 };
      let init: { root_token: string; keys_base64?: string[] };
      try {
        init = await api.write(
          'sys/init',
          target.seal === 'auto' ? { recovery_shares: 1, recovery_threshold: 1 } : { secret_shares: shamir.shares, secret_threshold: shamir.threshold },
        );
      } catch (err) {
        throw vaultFailure(err, `target ${target.name}: init`, 'sys/init');
      }
      noteSecret(init.root_token, `temporary root token of restore target ${target.name}`);
      if (target.seal === 'shamir') {
        for (const key of (init.keys_base64 ?? []).slice(0, shamir.threshold)) await api.unseal({ key });
      }
      await waitActive(target.address, target.caFile, 120_000);
      const rejected: { key: string; reason: string }[] = [];
      for (const candidate of input.candidates) {
        const res = await postSnapshot(target, init.root_token, candidate);
        if (res.ok) return { used: candidate.key, rejected };
        rejected.push({ key: candidate.key, reason: res.reason });
      }
      throw fail(
        FailureType.RestoreRejected,
        `target ${target.name}: Vault rejected every candidate snapshot (${rejected.map((r) => `${r.key}: ${r.reason}`).join('; ')}); ` +
          'the target is now initialised: wipe it before trying again with an older snapshot',
        { rejected },
      );
    },

    /**
     * Puts a restored copy out of service as `restore.targets[].after` says (run as a frame
     * compensation, so a failed or cancelled restore does it too): `seal` with the restorer
     * credential from the restored data, `stop` through the component's platform adapter,
     * `keep` leaves it up. Returns what it did, for the report.
     */
    async retireTarget(input: { target: string }): Promise<{ after: 'seal' | 'stop' | 'keep'; detail: string; warning?: string }> {
      const target = targetNamed(config, input.target);
      if (target.after === 'keep') {
        return { after: 'keep', detail: 'kept in service (after: keep)', warning: `target ${target.name} keeps serving a live copy of production (restore.targets[].after: keep)` };
      }
      if (target.after === 'stop') {
        const record = await platformFor(componentByName(config, target.component!), { signal: cancellationSignal() }).stop();
        return { after: 'stop', detail: `stopped ${record.component} (${record.adapter})` };
      }
      const source = sourceClusterAt(config, target.address);
      if (source) return { after: 'seal', detail: `left as is: a node of cluster ${source.name} (a source)` };
      const health = await nodeHealth(target.address, target.caFile);
      if (health.state === 'sealed' || health.state === 'uninitialized') return { after: 'seal', detail: `already ${health.state}` };
      if (health.state === 'unreachable') return { after: 'seal', detail: `not reachable: ${health.error}` };
      if (!target.restorer) {
        return { after: 'seal', detail: 'not sealed', warning: `target ${target.name} was left unsealed: set restore.targets[].restorer (deploy/vault/policies/secdr-restorer.hcl) so secdr can seal it` };
      }
      // The restore may still be applying: wait until the node answers active before sealing.
      await waitActive(target.address, target.caFile, 120_000);
      let token: string;
      try {
        token = await login(target.address, target.restorer, target.caFile, `target ${target.name} restorer`);
      } catch (err) {
        // No restorer in its data: it holds no restore of this source, so it is not secdr's to seal.
        if ((err as { type?: string }).type === FailureType.VaultPermissionDenied) return { after: 'seal', detail: 'left as is: holds no restore of this source (the restorer does not log in)' };
        throw err;
      }
      const seal = async (): Promise<void> => {
        try {
          await vaultApi(target.address, { token, caFile: target.caFile }).write('sys/seal', {});
        } catch (err) {
          throw vaultFailure(err, `target ${target.name}: sealing the restored copy`, 'sys/seal', 'secdr-restorer', target.address);
        }
      };
      const attempts = await sealUntilItHolds(target, seal);
      return { after: 'seal', detail: attempts === 1 ? 'sealed' : `sealed (held on attempt ${attempts}: the server had unsealed itself again)` };
    },

    /**
     * Brings a target the previous run put out of service back before a new restore: starts
     * a stopped one, and restarts an auto-unseal one that is sealed (auto-unseal needs a
     * restart; its keys are the source's). Shamir or no component: left as is, and the
     * restore refuses a sealed target with what to do.
     */
    async bringTargetBack(input: { target: string }): Promise<string> {
      const target = targetNamed(config, input.target);
      const before = await nodeHealth(target.address, target.caFile);
      if (!target.component || (before.state !== 'unreachable' && !(before.state === 'sealed' && target.seal === 'auto' && before.initialized))) {
        return `already ${before.state}`;
      }
      const adapter = platformFor(componentByName(config, target.component), { signal: cancellationSignal() });
      if (before.state === 'sealed') await adapter.stop();
      await adapter.start();
      // Stopped before anything was restored into it (a failed first run), it comes back
      // uninitialised; a Shamir one comes back sealed: both are what the restore expects, not a wait.
      const ready = ['active', 'uninitialized', ...(target.seal === 'auto' ? [] : ['sealed'])];
      const state = await waitActive(target.address, target.caFile, 120_000, ready);
      if (before.state === 'sealed') return `restarted ${target.component}: auto-unsealed`;
      return state === 'active' ? `started ${target.component}` : `started ${target.component}: ${state}`;
    },

    /** Reads the canary with the verifier credential from the restored data. */
    async verifyCanary(input: { target: string; cluster: string; expectedNonce?: string }): Promise<Canary> {
      const target = targetNamed(config, input.target);
      const cluster = clusterNamed(config, input.cluster);
      const token = await login(target.address, target.verifier, target.caFile, `target ${target.name} verifier`);
      const path = `${cluster.canary.mount}/data/${cluster.canary.path}`;
      let data: Canary;
      try {
        data = (await vaultApi(target.address, { token, caFile: target.caFile }).read(path)).data.data as Canary;
      } catch (err) {
        throw vaultFailure(err, `target ${target.name}: reading the canary`, path, VERIFIER_POLICY);
      }
      if (input.expectedNonce && data.nonce !== input.expectedNonce) {
        throw fail(
          FailureType.VerificationFailed,
          `target ${target.name}: canary nonce is ${data.nonce}, expected ${input.expectedNonce}; the restored data is not from the chosen snapshot`,
        );
      }
      return { nonce: data.nonce, writtenAt: data.writtenAt };
    },

    /** Issues a dynamic database credential, logs in to PostgreSQL with it, then revokes its lease. */
    async verifyDatabaseCredentials(input: { target: string }): Promise<{ role: string; loggedInAs: string; leaseRevoked: boolean }> {
      const target = targetNamed(config, input.target);
      if (!target.database) throw fail(FailureType.InvalidInput, `target ${target.name} has no \`database\` section; add one to check dynamic credentials`);
      const db = target.database;
      const token = await login(target.address, target.verifier, target.caFile, `target ${target.name} verifier`);
      const api = vaultApi(target.address, { token, caFile: target.caFile });
      const path = `${db.mount}/creds/${db.role}`;
      const revokeLease = async (leaseId: string, what: string) => {
        const revokePath = `sys/leases/revoke/${leaseId}`;
        try {
          await api.write(revokePath, {});
        } catch (err) {
          throw vaultFailure(err, `target ${target.name}: revoking ${what}`, revokePath, VERIFIER_POLICY);
        }
      };
      // A retry after a crashed attempt (worker killed between issuing and revoking): revoke what it left first.
      const leftover = previousAttempt<DatabaseCheckProgress>()?.databaseLease;
      if (leftover?.startsWith(`${path}/`)) await revokeLease(leftover, 'the lease a previous attempt left');
      let creds: { lease_id: string; data: { username: string; password: string } };
      try {
        creds = await api.read(path);
      } catch (err) {
        throw vaultFailure(err, `target ${target.name}: issuing a database credential`, path, VERIFIER_POLICY);
      }
      noteSecret(creds.data.password, `dynamic database password from ${path}`);
      // Recorded before the login: a worker that dies from here on leaves the lease id for the retry to revoke.
      heartbeat({ databaseLease: creds.lease_id } satisfies DatabaseCheckProgress);
      // Revoked whatever the login does: a credential left to its TTL is a live production login.
      const revoke = () => revokeLease(creds.lease_id, "the test credential's lease");
      const pg = new PgClient({ host: db.host, port: db.port, database: db.database, user: creds.data.username, password: creds.data.password });
      // Closing the check's connection cannot change the verdict, but a failure to close is logged, not hidden.
      const close = () => pg.end().catch((err: unknown) => log.warn(`target ${target.name}: closing the PostgreSQL check connection failed: ${(err as Error).message}`));
      let loggedInAs: string;
      try {
        await pg.connect();
        loggedInAs = (await pg.query<{ current_user: string }>('select current_user')).rows[0].current_user;
      } catch (err) {
        await close();
        await revoke();
        throw fail(
          FailureType.VerificationFailed,
          `target ${target.name}: the issued credential for role ${db.role} cannot log in to ${db.host}:${db.port}/${db.database} (${(err as Error).message}); its lease was revoked`,
        );
      }
      await close();
      await revoke();
      return { role: db.role, loggedInAs, leaseRevoked: true };
    },
  };
}
