import { randomBytes, randomUUID } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Client } from '@temporalio/client';
import { startOpenBao, writeStaticSealKey, type OpenBaoNode } from '../../dev-stack/openbao';
import { initNode } from '../../dev-stack/openbao-setup';
import { binaries } from '../../dev-stack/paths';
import { startTemporalDevServer, type TemporalDevServer } from '../../dev-stack/temporal';
import { seedSourceCluster, type SeededCredentials } from '../../dev-stack/vault-seed';
import { parseConfig } from '../../lib/config/load';
import type { SecdrConfig } from '../../lib/config/schema';
import type { RestoreReport } from '../../lib/reports/restore';
import { vaultRestore } from '../../procedures/vault-restore';
import { vaultSnapshot } from '../../procedures/vault-snapshot';
import { vaultRestoreWorkflow, vaultSnapshotWorkflow } from '../../workflows';
import type { SnapshotResult } from '../../workflows/vault-snapshot';
import { startInProcessWorker } from './in-process-worker';

/** An AppRole credential reference to the role-id and secret-id files `seedSourceCluster` wrote. */
export const approle = (c: { roleIdFile: string; secretIdFile: string }) => ({ method: 'approle', roleId: { file: c.roleIdFile }, secretId: { file: c.secretIdFile } });

export interface RestoreServers {
  temporal: TemporalDevServer;
  /** The source cluster (cluster `src` in `restoreConfig`), initialised and seeded. */
  source: OpenBaoNode;
  /** Fresh nodes sharing the source's static seal key (auto-unseal), by node id. */
  nodes: Record<string, OpenBaoNode>;
  creds: SeededCredentials;
  /** Each node's config is `<baoDir>/<node id>/config.hcl`. */
  baoDir: string;
  /** Stops Temporal, the source and every node the harness still runs. */
  stop(): Promise<void>;
}

/**
 * A Temporal dev server, an auto-unseal OpenBao source seeded as a deployment would be
 * (least-privilege AppRoles, credentials under `dir`/creds), and fresh auto-unseal `nodeIds`.
 */
export async function startRestoreServers(dir: string, nodeIds: string[]): Promise<RestoreServers> {
  const sealKey = writeStaticSealKey(join(dir, 'static.key'));
  const baoDir = join(dir, 'openbao');
  const started: { process: { stop(): Promise<void> } }[] = [];
  const track = <T extends { process: { stop(): Promise<void> } }>(p: Promise<T>) => p.then((s) => (started.push(s), s));
  const stop = async () => void (await Promise.all(started.map((s) => s.process.stop())));
  try {
    const [temporal, source, ...fresh] = await Promise.all([
      track(startTemporalDevServer({ dir: join(dir, 'temporal') })),
      ...['source', ...nodeIds].map((nodeId) => track(startOpenBao({ dir: baoDir, nodeId, staticSealKeyFile: sealKey }))),
    ]);
    const { rootToken } = await initNode(source.address, 'auto');
    const credsDir = join(dir, 'creds');
    mkdirSync(credsDir);
    const creds = await seedSourceCluster({ address: source.address, rootToken, credsDir });
    return { temporal: temporal as TemporalDevServer, source: source as OpenBaoNode, nodes: Object.fromEntries(nodeIds.map((id, i) => [id, fresh[i] as OpenBaoNode])), creds, baoDir, stop };
  } catch (e) {
    await stop();
    throw e;
  }
}

/** A restore target in auto-unseal mode with the seeded verifier and restorer AppRoles, plus `extra`. */
export const autoTarget = (s: RestoreServers, name: string, address: string, extra: object = {}) => ({
  name,
  address,
  seal: 'auto',
  verifier: approle(s.creds.verifier),
  restorer: approle(s.creds.restorer),
  ...extra,
});

/** A component `name` running node `nodeId` of `s` under the process platform adapter, its pid and log files under `dir`. */
export const processComponent = (s: RestoreServers, dir: string, name: string, nodeId: string, address: string) => ({
  name,
  platform: {
    type: 'process',
    command: [binaries.bao, 'server', `-config=${join(s.baoDir, nodeId, 'config.hcl')}`],
    pidFile: join(dir, `${name}.pid`),
    logFile: join(dir, `${name}.log`),
    readyUrl: `${address}/v1/sys/health?uninitcode=200&sealedcode=200&standbycode=200`,
  },
});

/**
 * The config the restore tests run: cluster `src` (the seeded source, staging under `dir`), a
 * task queue and codec key of their own named after `name`, reports under `dir`, and `rest`
 * (storage, restore, components).
 */
export function restoreConfig(dir: string, s: RestoreServers, name: string, rest: Record<string, unknown>): SecdrConfig {
  const keyFile = join(dir, 'codec.key');
  writeFileSync(keyFile, randomBytes(32).toString('base64'), { mode: 0o600 });
  return parseConfig(
    {
      temporal: { taskQueue: `${name}-${randomUUID()}` },
      clusters: [{ name: 'src', nodes: [s.source.address], auth: approle(s.creds.snapshot), stagingDir: join(dir, 'staging') }],
      reportsDir: join(dir, 'reports'),
      codec: { keyId: name, key: { file: keyFile } },
      ...rest,
    },
    `${name} test config`,
  );
}

export interface RestoreRig {
  client: Client;
  /** Runs the snapshot procedure of `cluster` (default `src`) into `storages` (default every configured one). */
  snapshot(opts?: { cluster?: string; storages?: string[] }): Promise<SnapshotResult>;
  /** Runs the restore procedure of cluster `src` into `target` (input as the CLI builds it, polling each second), plus `over`. */
  restore(target: string, opts?: { storage?: string; over?: object }): Promise<RestoreReport>;
  close(): Promise<void>;
}

/**
 * The production worker in this process on the config's task queue, and a client with the
 * same codec, against a Temporal server: what the restore integration tests drive.
 */
export async function startRestoreWorker(temporalAddress: string, config: SecdrConfig): Promise<RestoreRig> {
  const taskQueue = config.temporal.taskQueue;
  const { client, close } = await startInProcessWorker({ address: temporalAddress }, config);
  return {
    client,
    snapshot: ({ cluster = 'src', storages }: { cluster?: string; storages?: string[] } = {}) =>
      client.workflow.execute(vaultSnapshotWorkflow, {
        taskQueue,
        workflowId: `snap-${cluster}-${randomUUID()}`,
        args: [{ ...vaultSnapshot.input(config, { cluster }), ...(storages ? { storages } : {}) }],
      }),
    restore: (target, opts = {}) =>
      client.workflow.execute(vaultRestoreWorkflow, {
        taskQueue,
        workflowId: `restore-${target}-${randomUUID()}`,
        args: [{ ...vaultRestore.input(config, { cluster: 'src', target, storage: opts.storage }), pollSeconds: 1, ...opts.over }],
      }),
    close,
  };
}
