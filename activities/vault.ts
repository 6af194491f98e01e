import { randomUUID } from 'node:crypto';
import { createReadStream, createWriteStream, mkdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { Client as PgClient } from 'pg';
import { cancellationSignal, heartbeat } from './activity-context';
import { clusterNamed, targetNamed } from '../lib/config/lookup';
import type { RestoreTarget, SecdrConfig } from '../lib/config/schema';
import { fail, FailureType } from '../lib/fail';
import { noteSecret } from '../lib/secret-registry';
import { login, vaultApi, vaultFailure } from '../lib/vault/client';
import { fetchWithCa, findActiveNode, nodeHealth } from '../lib/vault/health';
import { createSnapshotVerifier } from '../lib/snapshot/archive-verifier';
import { SnapshotCorruptError } from '../lib/snapshot/corrupt';

/** What the snapshot step hands on: no secrets, just where and what. */
export interface TakenSnapshot {
  cluster: string;
  node: string;
  file: string;
  fileName: string;
  takenAt: string;
  bytes: number;
  sha256: string;
  raftIndex: number;
  raftTerm: number;
  keys: number;
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

/** Polls until the node is active, heartbeating the state it saw. */
async function waitActive(address: string, caFile: string | undefined, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let state = 'unknown';
  while (Date.now() < deadline) {
    state = (await nodeHealth(address, caFile)).state;
    if (state === 'active') return;
    heartbeat({ waitingFor: 'active', state });
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`${address} did not become active within ${timeoutMs / 1000} s (last state: ${state})`);
}

/**
 * Streams the raft snapshot from `address` into `file`, hashing and verifying the
 * archive in the same pass, so memory stays flat and a short or corrupt stream is
 * caught now rather than at restore time. Exported for the benchmark and CLI.
 */
export async function streamSnapshot(
  address: string,
  token: string,
  caFile: string | undefined,
  file: string,
  onBytes: (bytes: number) => void = () => undefined,
  signal?: AbortSignal,
): Promise<{ bytes: number; sha256: string; raftIndex: number; raftTerm: number; keys: number }> {
  const path = 'sys/storage/raft/snapshot';
  const res = await fetchWithCa(`${address}/v1/${path}`, caFile, 6 * 3600_000, { headers: { 'X-Vault-Token': token }, signal });
  if (res.status === 307 || res.status === 308) {
    await res.body?.cancel();
    throw fail(FailureType.VaultNoActiveNode, `${address} is no longer the active node (answered ${res.status}); the retry picks the new leader`);
  }
  if (res.status !== 200 || !res.body) {
    const text = await res.text().catch(() => '');
    throw vaultFailure({ response: { statusCode: res.status, body: safeJson(text) } }, 'raft snapshot', path, SNAPSHOT_POLICY);
  }
  const label = file.split('/').pop()!;
  const verifier = createSnapshotVerifier(label);
  let bytes = 0;
  const tee = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      bytes += chunk.length;
      onBytes(bytes);
      if (verifier.sink.write(chunk)) cb(null, chunk);
      else verifier.sink.once('drain', () => cb(null, chunk));
    },
    flush(cb) {
      verifier.sink.end();
      cb();
    },
  });
  // Surface the verifier's verdict even if the pipeline fails first.
  verifier.result.catch(() => undefined);
  try {
    await pipeline(Readable.fromWeb(res.body as unknown as WebReadableStream), tee, createWriteStream(file, { mode: 0o600 }));
  } catch (err) {
    throw fail(FailureType.SnapshotStreamIncomplete, `snapshot ${label}: stream from ${address} broke after ${bytes} bytes (${(err as Error).message}); retrying`);
  }
  let inspection;
  try {
    inspection = await verifier.result;
  } catch (err) {
    if (err instanceof SnapshotCorruptError) {
      throw fail(FailureType.SnapshotStreamIncomplete, `${err.message} (as received from ${address}, ${bytes} bytes); taking the snapshot again`, {
        reason: err.reason,
      });
    }
    throw err;
  }
  // The verifier hashed the archive as it streamed; the staging file must hold exactly those bytes.
  const sha256 = inspection.archiveSha256;
  if (inspection.archiveBytes !== bytes || statSync(file).size !== bytes) {
    throw fail(FailureType.SnapshotStreamIncomplete, `snapshot ${label}: staging file does not match the bytes received; disk full or faulty? retrying`);
  }
  return { bytes, sha256, raftIndex: inspection.index, raftTerm: inspection.term, keys: inspection.keys };
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

export function createVaultActivities(config: SecdrConfig) {
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

    /** Streams, hashes and verifies a raft snapshot from the active node into the staging directory. */
    async takeSnapshot(input: { cluster: string }): Promise<TakenSnapshot> {
      const cluster = clusterNamed(config, input.cluster);
      const address = await findActiveNode(cluster.name, cluster.nodes, cluster.caFile);
      const token = await login(address, cluster.auth, cluster.caFile, `cluster ${cluster.name}`);
      mkdirSync(cluster.stagingDir, { recursive: true, mode: 0o700 });
      const takenAt = new Date();
      const fileName = `vault-${cluster.name}-${stamp(takenAt)}.snap`;
      const file = join(cluster.stagingDir, fileName);
      const result = await streamSnapshot(address, token, cluster.caFile, file, (bytes) => heartbeat({ bytes }), cancellationSignal());
      return { cluster: cluster.name, node: address, file, fileName, takenAt: takenAt.toISOString(), ...result };
    },

    /** Seal state of a restore target, for the workflow's unseal wait and the CLI. */
    async targetStatus(input: { target: string }): Promise<SealStatus> {
      const target = targetNamed(config, input.target);
      const health = await nodeHealth(target.address, target.caFile);
      // While a restore applies, seal-status can take seconds to answer.
      const res = await fetchWithCa(`${target.address}/v1/sys/seal-status`, target.caFile, 20_000);
      if (res.status !== 200) throw new Error(`target ${target.name}: sys/seal-status answered ${res.status}`);
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
      if (health.state === 'unreachable') throw new Error(`target ${target.name} (${target.address}) is unreachable: ${health.error ?? health.status}`);
      if (health.initialized) {
        throw fail(
          FailureType.VaultAlreadyInitialized,
          `target ${target.name} (${target.address}) is already initialised; secdr restores only into a fresh cluster. ` +
            'Wipe its raft data (or provision a new one) and re-run; if a previous attempt died between init and restore, that is the fix too',
        );
      }
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
      if (target.seal === 'shamir') {
        for (const key of (init.keys_base64 ?? []).slice(0, shamir.threshold)) await api.unseal({ key });
      }
      await waitActive(target.address, target.caFile, 120_000);
      const rejected: { key: string; reason: string }[] = [];
      for (const candidate of input.candidates) {
        heartbeat({ restoring: candidate.key });
        const res = await fetchWithCa(`${target.address}/v1/sys/storage/raft/snapshot-force`, target.caFile, 3600_000, {
          method: 'POST',
          headers: { 'X-Vault-Token': init.root_token, 'Content-Type': 'application/octet-stream' },
          body: Readable.toWeb(createReadStream(candidate.file)) as unknown as RequestInit['body'],
          duplex: 'half',
        } as RequestInit);
        const text = await res.text().catch(() => '');
        if (res.status === 204 || res.status === 200) return { used: candidate.key, rejected };
        rejected.push({ key: candidate.key, reason: `Vault answered ${res.status}: ${safeJson(text).errors?.join('; ') ?? ''}` });
      }
      throw fail(
        FailureType.RestoreRejected,
        `target ${target.name}: Vault rejected every candidate snapshot (${rejected.map((r) => `${r.key}: ${r.reason}`).join('; ')}); ` +
          'the target is now initialised: wipe it before trying again with an older snapshot',
        { rejected },
      );
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
      let creds: { lease_id: string; data: { username: string; password: string } };
      try {
        creds = await api.read(path);
      } catch (err) {
        throw vaultFailure(err, `target ${target.name}: issuing a database credential`, path, VERIFIER_POLICY);
      }
      noteSecret(creds.data.password, `dynamic database password from ${path}`);
      // Revoked whatever the login does: a credential left to its TTL is a live production login.
      const revoke = async () => {
        const revokePath = `sys/leases/revoke/${creds.lease_id}`;
        try {
          await api.write(revokePath, {});
        } catch (err) {
          throw vaultFailure(err, `target ${target.name}: revoking the test credential's lease`, revokePath, VERIFIER_POLICY);
        }
      };
      const pg = new PgClient({ host: db.host, port: db.port, database: db.database, user: creds.data.username, password: creds.data.password });
      let loggedInAs: string;
      try {
        await pg.connect();
        loggedInAs = (await pg.query<{ current_user: string }>('select current_user')).rows[0].current_user;
      } catch (err) {
        await pg.end().catch(() => undefined);
        await revoke();
        throw fail(
          FailureType.VerificationFailed,
          `target ${target.name}: the issued credential for role ${db.role} cannot log in to ${db.host}:${db.port}/${db.database} (${(err as Error).message}); its lease was revoked`,
        );
      }
      await pg.end().catch(() => undefined);
      await revoke();
      return { role: db.role, loggedInAs, leaseRevoked: true };
    },
  };
}
