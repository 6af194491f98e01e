import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePort } from './ports';
import { requireBinary } from './paths';
import { ManagedProcess } from './supervisor';
import { waitFor } from './wait';

/** One OpenBao server with raft storage on loopback. */
export interface OpenBaoNode {
  nodeId: string;
  /** http://127.0.0.1:PORT */
  address: string;
  process: ManagedProcess;
  dataDir: string;
}

export interface OpenBaoOptions {
  /** Directory for config, raft data and logs. */
  dir: string;
  nodeId: string;
  /** Path of a 32-byte key file: enables the `static` seal (auto-unseal). Shamir when absent. */
  staticSealKeyFile?: string;
  /** API address of a node to join via raft `retry_join`. */
  joinAddress?: string;
  /** Auto-unseal through another OpenBao's transit engine (a KMS stand-in: openbao-kms.ts). Overrides the static seal. */
  transitSeal?: TransitSeal;
  /**
   * Raft `performance_multiplier`: scales election and heartbeat timeouts. Default 1 (OpenBao's
   * own default is 5, for slow shared hardware): a fresh single node then elects itself in about
   * a second instead of five, which is most of a restore target's start + init (docs/benchmarks.md).
   */
  performanceMultiplier?: number;
}

/** Where a transit seal finds its key; the token goes in the server's environment, never its config file. */
export interface TransitSeal {
  address: string;
  token: string;
  keyName: string;
  /** Mount path of the transit engine, with a trailing slash. */
  mountPath: string;
}

/** Writes a 32-byte AES key for the static seal. Every node of a cluster and its DR target share it. */
export function writeStaticSealKey(path: string): string {
  writeFileSync(path, randomBytes(32), { mode: 0o600 });
  return path;
}

export async function startOpenBao(opts: OpenBaoOptions): Promise<OpenBaoNode> {
  const bao = requireBinary('bao');
  const [port, clusterPort] = [await freePort(), await freePort()];
  const dataDir = join(opts.dir, opts.nodeId);
  mkdirSync(join(dataDir, 'raft'), { recursive: true });
  const address = `http://127.0.0.1:${port}`;
  const config = [
    'disable_mlock = true',
    `api_addr = "${address}"`,
    `cluster_addr = "https://127.0.0.1:${clusterPort}"`,
    'storage "raft" {',
    `  path = "${join(dataDir, 'raft')}"`,
    `  node_id = "${opts.nodeId}"`,
    `  performance_multiplier = ${opts.performanceMultiplier ?? 1}`,
    ...(opts.joinAddress ? [`  retry_join {`, `    leader_api_addr = "${opts.joinAddress}"`, '  }'] : []),
    '}',
    'listener "tcp" {',
    `  address = "127.0.0.1:${port}"`,
    `  cluster_address = "127.0.0.1:${clusterPort}"`,
    '  tls_disable = true',
    '  telemetry { unauthenticated_metrics_access = true }',
    '}',
    'telemetry {',
    '  prometheus_retention_time = "60s"',
    '  disable_hostname = true',
    '}',
    ...(opts.transitSeal
      ? [
          'seal "transit" {',
          `  address = "${opts.transitSeal.address}"`,
          `  key_name = "${opts.transitSeal.keyName}"`,
          `  mount_path = "${opts.transitSeal.mountPath}"`,
          '  disable_renewal = "true"',
          '}',
        ]
      : opts.staticSealKeyFile
      ? ['seal "static" {', '  current_key_id = "local-1"', `  current_key = "file://${opts.staticSealKeyFile}"`, '}']
      : []),
  ].join('\n');
  const configFile = join(dataDir, 'config.hcl');
  writeFileSync(configFile, config);
  const proc = new ManagedProcess({
    name: `openbao ${opts.nodeId}`,
    command: bao,
    args: ['server', `-config=${configFile}`],
    env: { PATH: process.env.PATH, HOME: dataDir, ...(opts.transitSeal ? { BAO_TOKEN: opts.transitSeal.token, VAULT_TOKEN: opts.transitSeal.token } : {}) },
    logFile: join(dataDir, 'server.log'),
  }).start();
  await waitFor(
    `openbao ${opts.nodeId} at ${address}`,
    async () => {
      proc.assertAlive();
      // Any answer from sys/health (even 501 uninitialised or 503 sealed) means it listens.
      const res = await fetch(`${address}/v1/sys/health`, { signal: AbortSignal.timeout(2000) });
      await res.body?.cancel();
      return true;
    },
    { timeoutMs: 30_000 },
  );
  return { nodeId: opts.nodeId, address, process: proc, dataDir };
}
