import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { freePort } from './ports';
import { requireBinary } from './paths';
import { ManagedProcess } from './supervisor';
import { httpAnswers, waitFor } from './wait';

export interface HttpServer {
  url: string;
  process: ManagedProcess;
}

/** One Prometheus instant-query sample. */
export interface Sample {
  metric: Record<string, string>;
  value: [number, string];
}

/** Runs an instant query against Prometheus' HTTP API; throws on an API error. */
export async function promQuery(prometheusUrl: string, query: string): Promise<Sample[]> {
  const res = await fetch(`${prometheusUrl}/api/v1/query?query=${encodeURIComponent(query)}`, {
    signal: AbortSignal.timeout(5000),
  });
  const body = (await res.json()) as {
    status: string;
    error?: string;
    data?: { resultType: string; result: Sample[] };
  };
  if (body.status !== 'success') throw new Error(`query ${query}: ${body.error ?? res.status}`);
  return body.data!.result;
}

export interface PrometheusConfigOptions {
  /** scrape_interval = evaluation_interval, in seconds (the tests use 1). */
  intervalSeconds: number;
  ruleFiles?: string[];
  /** host:port of Alertmanagers to alert to. */
  alertmanagers?: string[];
  scrapeConfigs?: object[];
}

/** Writes a Prometheus config file into `dir` and returns its path. */
export function writePrometheusConfig(dir: string, opts: PrometheusConfigOptions): string {
  const interval = `${opts.intervalSeconds}s`;
  const config = {
    global: { scrape_interval: interval, scrape_timeout: interval, evaluation_interval: interval },
    rule_files: opts.ruleFiles ?? [],
    ...(opts.alertmanagers
      ? { alerting: { alertmanagers: [{ static_configs: [{ targets: opts.alertmanagers }] }] } }
      : {}),
    scrape_configs: opts.scrapeConfigs ?? [],
  };
  const file = join(dir, 'prometheus.yml');
  writeFileSync(file, stringify(config));
  return file;
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
