import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePort } from './ports';
import { requireBinary } from './paths';
import { ManagedProcess } from './supervisor';
import { httpAnswers, waitFor } from './wait';

export interface VlagentOptions {
  dir: string;
  /** The file vlagent tails (created empty when missing). */
  tailFile: string;
  /** VictoriaLogs base URLs, one remote-write target (with its own on-disk queue) each. */
  backends: string[];
  /**
   * Longest pause between retries to an unreachable target (-remoteWrite.retryMaxTime). It
   * also bounds catch-up: a restarted backend waits up to this long for the next retry.
   * Default 5 s here (vlagent's default is 1 minute).
   */
  retryMaxTimeSeconds?: number;
}

export interface Vlagent {
  /** Base URL: /metrics, /health and the ingest APIs (e.g. /insert/jsonline). */
  url: string;
  process: ManagedProcess;
}

/**
 * vlagent tailing one file and replicating every line to each backend. Each
 * -remoteWrite.url gets its own persistent queue under -tmpDataPath
 * (vlagent-remotewrite-data/persistent-queue/<n>_<hash>), so a dead primary neither blocks
 * the secondary nor loses its lines. Listens on loopback only (its default is all interfaces).
 */
export async function startVlagent(opts: VlagentOptions): Promise<Vlagent> {
  const bin = requireBinary('vlagent');
  const dir = join(opts.dir, 'vlagent');
  mkdirSync(dir, { recursive: true });
  writeFileSync(opts.tailFile, '', { flag: 'a' });
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const proc = new ManagedProcess({
    name: 'vlagent',
    command: bin,
    args: [
      `-httpListenAddr=127.0.0.1:${port}`,
      `-tmpDataPath=${join(dir, 'data')}`,
      `-fileCollector.glob=${opts.tailFile}`,
      // Picks up a file created after start within a second instead of ten.
      '-fileCollector.refreshInterval=1s',
      ...opts.backends.map((b) => `-remoteWrite.url=${b}/insert/native`),
      `-remoteWrite.retryMaxTime=${opts.retryMaxTimeSeconds ?? 5}s`,
      '-loggerLevel=WARN',
    ],
    logFile: join(dir, 'vlagent.log'),
  }).start();
  await waitFor(`vlagent at ${url}`, async () => {
    proc.assertAlive();
    return httpAnswers(`${url}/health`);
  });
  return { url, process: proc };
}
