import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { freePort } from './ports';
import { requireBinary } from './paths';
import { ManagedProcess } from './supervisor';
import { httpAnswers, waitFor } from './wait';

export interface HttpServer {
  url: string;
  process: ManagedProcess;
}

/** Prometheus with the given config file; data in `dir`. */
export async function startPrometheus(dir: string, configFile: string): Promise<HttpServer> {
  const bin = requireBinary('prometheus');
  mkdirSync(join(dir, 'tsdb'), { recursive: true });
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const proc = new ManagedProcess({
    name: 'prometheus',
    command: bin,
    args: [
      `--config.file=${configFile}`,
      `--storage.tsdb.path=${join(dir, 'tsdb')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--web.enable-lifecycle',
    ],
    logFile: join(dir, 'prometheus.log'),
  }).start();
  await waitFor(`prometheus at ${url}`, async () => {
    proc.assertAlive();
    return httpAnswers(`${url}/-/ready`);
  });
  return { url, process: proc };
}

/** Alertmanager with the given config file; clustering off (single instance on loopback). */
export async function startAlertmanager(dir: string, configFile: string): Promise<HttpServer> {
  const bin = requireBinary('alertmanager');
  mkdirSync(join(dir, 'data'), { recursive: true });
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const proc = new ManagedProcess({
    name: 'alertmanager',
    command: bin,
    args: [
      `--config.file=${configFile}`,
      `--storage.path=${join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--cluster.listen-address=',
    ],
    logFile: join(dir, 'alertmanager.log'),
  }).start();
  await waitFor(`alertmanager at ${url}`, async () => {
    proc.assertAlive();
    return httpAnswers(`${url}/-/ready`);
  });
  return { url, process: proc };
}
