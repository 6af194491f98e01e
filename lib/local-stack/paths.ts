import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

/** Where scripts/install-servers.sh puts pinned servers; outside the checkout so clones share it. */
export const cacheDir = process.env.SECDR_CACHE ?? join(homedir(), '.cache', 'secdr');

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
  /** Headless browser for the HTML report test (Debian `chromium`). */
  chromium: '/usr/bin/chromium',
  /** Built by scripts/install/go-tools.sh (log-failover drill: two backends and the shipper). */
  victoriaLogs: join(cacheDir, 'bin', 'victoria-logs'),
  vlagent: join(cacheDir, 'bin', 'vlagent'),
  /** Built by scripts/install/go-tools.sh (the CA-outage drill's second CA type). */
  cfssl: join(cacheDir, 'bin', 'cfssl'),
} as const;

export type BinaryName = keyof typeof binaries;

/** Returns the path of a server binary, or throws saying how to install it. */
export function requireBinary(name: BinaryName): string {
  const path = binaries[name];
  if (!existsSync(path)) {
    throw new Error(`${name} not found at ${path}: ${INSTALL}`);
  }
  return path;
}
