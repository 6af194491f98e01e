import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

/** Where scripts/install-servers.sh puts pinned servers; outside the checkout so clones share it. */
export const cacheDir = process.env.SECDR_CACHE ?? join(homedir(), '.cache', 'secdr');

/** The repository's deploy/ directory: what users deploy; the local stack and the tests use it as is, never copies. */
export const deployDir = join(__dirname, '..', 'deploy');

const INSTALL = 'run `bash scripts/install-servers.sh` (it installs every local server, pinned, into ~/.cache/secdr)';

/** Absolute paths of the real servers the local stack and the tests run. */
export const binaries = {
  temporal: join(cacheDir, 'bin', 'temporal'),
  temporalTestServer: join(cacheDir, 'venv', 'bin', 'temporal-test-server'),
  bao: join(cacheDir, 'bin', 'bao'),
  motoServer: join(cacheDir, 'venv', 'bin', 'moto_server'),
  postgresBin: process.env.SECDR_PG_BIN ?? '/usr/lib/postgresql/15/bin',
  prometheus: '/usr/bin/prometheus',
  promtool: '/usr/bin/promtool',
  alertmanager: '/usr/bin/prometheus-alertmanager',
  amtool: '/usr/bin/amtool',
  /** Built by scripts/install/kubernetes.sh: the real control plane, its storage and a fake node for the Kubernetes tests. */
  kubeApiserver: join(cacheDir, 'bin', 'kube-apiserver'),
  kubeControllerManager: join(cacheDir, 'bin', 'kube-controller-manager'),
  kubeScheduler: join(cacheDir, 'bin', 'kube-scheduler'),
  kine: join(cacheDir, 'bin', 'kine'),
  kwok: join(cacheDir, 'bin', 'kwok'),
  /** Headless browser for the HTML report test (Debian `chromium`). */
  chromium: '/usr/bin/chromium',
  /** Built by scripts/install/go-tools.sh (log-failover drill: two backends and the shipper). */
  victoriaLogs: join(cacheDir, 'bin', 'victoria-logs'),
  vlagent: join(cacheDir, 'bin', 'vlagent'),
  /** Built by scripts/install/go-tools.sh (the CA-outage drill's second CA type). */
  cfssl: join(cacheDir, 'bin', 'cfssl'),
} as const;

export type BinaryName = keyof typeof binaries;

const KUBERNETES_INSTALL = 'run `bash scripts/install/kubernetes.sh` (builds the pinned control plane, kine and kwok into ~/.cache/secdr; ~25 min cold)';
/** Binaries installed by their own script rather than install-servers.sh. */
const INSTALL_HINTS: Partial<Record<BinaryName, string>> = {
  kubeApiserver: KUBERNETES_INSTALL,
  kubeControllerManager: KUBERNETES_INSTALL,
  kubeScheduler: KUBERNETES_INSTALL,
  kine: KUBERNETES_INSTALL,
  kwok: KUBERNETES_INSTALL,
};

/** Returns the path of a server binary, or throws saying how to install it. */
export function requireBinary(name: BinaryName): string {
  const path = binaries[name];
  if (!existsSync(path)) {
    throw new Error(`${name} not found at ${path}: ${INSTALL_HINTS[name] ?? INSTALL}`);
  }
  return path;
}
