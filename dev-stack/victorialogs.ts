import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { ComponentConfig } from '../lib/config/components';
import { freePort } from './ports';
import { requireBinary } from './paths';
import { ManagedProcess } from './supervisor';
import { httpAnswers, waitFor } from './wait';

/** A VictoriaLogs server on loopback: its query/ingest base URL and the argv that runs it. */
export interface VictoriaLogsSpec {
  name: string;
  url: string;
  argv: string[];
  dataDir: string;
  logFile: string;
}

/** Picks a free loopback port and builds the VictoriaLogs command line; data under `dir/<name>`. */
export async function victoriaLogsSpec(dir: string, name: string): Promise<VictoriaLogsSpec> {
  const bin = requireBinary('victoriaLogs');
  const port = await freePort();
  const dataDir = join(dir, name);
  mkdirSync(dataDir, { recursive: true });
  return {
    name,
    url: `http://127.0.0.1:${port}`,
    argv: [bin, `-httpListenAddr=127.0.0.1:${port}`, `-storageDataPath=${join(dataDir, 'data')}`, '-retentionPeriod=1d', '-loggerLevel=WARN'],
    dataDir,
    logFile: join(dataDir, 'victoria-logs.log'),
  };
}

/**
 * The same server as a `process` component, so the drill stops and starts it through the
 * platform adapter (lib/platform/process.ts): pid and log live in files, and a worker
 * that replaced a killed one can still restart it.
 */
export function victoriaLogsComponent(spec: VictoriaLogsSpec): ComponentConfig {
  return {
    name: spec.name,
    platform: {
      type: 'process',
      command: spec.argv,
      pidFile: join(spec.dataDir, 'victoria-logs.pid'),
      logFile: spec.logFile,
      readyUrl: `${spec.url}/health`,
      readyTimeoutSeconds: 30,
    },
  };
}

/**
 * The config's `logPipeline` section for VictoriaLogs `primary` and `secondary` (the components
 * `victoriaLogsComponent` makes) fed by a vlagent tailing `canaryFile`, plus the drill's windows
 * and whatever else the caller sets (prometheusUrl, hostDetector).
 */
export function victoriaLogsPipeline(
  primary: VictoriaLogsSpec,
  secondary: VictoriaLogsSpec,
  canaryFile: string,
  rest: { outageWindowSeconds: number; catchUpLimitSeconds: number } & Record<string, unknown>,
) {
  return {
    primary: { type: 'victorialogs', url: primary.url, component: primary.name },
    secondary: { type: 'victorialogs', url: secondary.url, component: secondary.name },
    canary: { file: canaryFile },
    ...rest,
  };
}

/** Runs a VictoriaLogs server supervised by the harness (stopped with the suite). */
export async function startVictoriaLogs(dir: string, name: string): Promise<{ url: string; process: ManagedProcess }> {
  const spec = await victoriaLogsSpec(dir, name);
  const [command, ...args] = spec.argv;
  const proc = new ManagedProcess({ name: `victoria-logs ${name}`, command, args, logFile: spec.logFile }).start();
  await waitFor(`victoria-logs ${name} at ${spec.url}`, async () => {
    proc.assertAlive();
    return httpAnswers(`${spec.url}/health`);
  });
  return { url: spec.url, process: proc };
}
