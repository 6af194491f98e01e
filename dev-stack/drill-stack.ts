import { mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { platformFor } from '../lib/platform';
import { startDrStack, type DrStack, type DrStackOptions } from './dr-stack';
import { deployDir } from './paths';
import { startCaEndpoint } from './ca-endpoint';
import { startOpenBaoPkiCa, type LocalCa, type TlsEndpoint } from './pki';
import { startAlertmanager, startPrometheus, writePrometheusConfig, type HttpServer } from './prometheus';
import { startRecordingReceivers, writeDeployedAlertmanagerConfig, type RecordingReceivers } from './recording-receivers';
import { victoriaLogsComponent, victoriaLogsPipeline, victoriaLogsSpec } from './victorialogs';
import { startVlagent, type Vlagent } from './vlagent';

/**
 * Everything the quarterly drill drills, on this machine: the DR stack (Temporal dev server,
 * moto, PostgreSQL, OpenBao source + fresh DR targets) for vault-restore, VictoriaLogs ×2 (process
 * components the drill stops and starts) + vlagent for log-failover, an OpenBao PKI CA + one TLS
 * endpoint for ca-outage, Alertmanager with the deployed routing tree and the recording receivers
 * for alerting. The demo and the full quarterly e2e both start it, so what the demo shows is what
 * CI tests.
 */
export interface DrillStack {
  dr: DrStack;
  vlagent: Vlagent;
  ca: LocalCa;
  endpoint: TlsEndpoint;
  receivers: RecordingReceivers;
  alertmanager: HttpServer;
  /**
   * The config as the YAML would hold it: the DR stack's plus components, logPipeline,
   * caOutage, alertmanager, alertingDrill and quarterlyDrill (every drill, default order).
   * Set restore.testTarget per run: a restore goes into a fresh target only.
   */
  raw: Record<string, unknown>;
  /** The components the drills stop and start (platform adapter, not this process's supervisor). */
  componentsRunning(): Promise<boolean[]>;
  /**
   * Prometheus with every rule file of deploy/prometheus/rules, scraping `workerMetrics`
   * (host:port of secdr workers, job secdr-worker) and vlagent (job vlagent), both every second
   * so a freshness alert follows a drill within seconds. Stopped by `stop()`.
   */
  startPrometheus(workerMetrics: string[]): Promise<HttpServer>;
  stop(): Promise<void>;
}

export type DrillStackOptions = Pick<DrStackOptions, 'dir' | 'targets' | 'taskQueue'>;

const hostPort = (url: string) => new URL(url).host;

export async function startDrillStack(opts: DrillStackOptions): Promise<DrillStack> {
  const { dir } = opts;
  const started: { stop(): Promise<unknown> }[] = [];
  const components: ReturnType<typeof victoriaLogsComponent>[] = [];
  const stop = async () => {
    for (const c of components) await platformFor(c).stop().catch((err: unknown) => console.error(`drill stack: stopping ${c.name}: ${(err as Error).message}`));
    await Promise.all(started.map((s) => s.stop()));
  };
  try {
    const dr = await startDrStack(opts);
    started.push(dr);
    const [p, s] = await Promise.all([victoriaLogsSpec(dir, 'logs-primary'), victoriaLogsSpec(dir, 'logs-secondary')]);
    components.push(victoriaLogsComponent(p), victoriaLogsComponent(s));
    const canaryFile = join(dir, 'canary.log');
    const vlagent = await startVlagent({ dir, tailFile: canaryFile, backends: [p.url, s.url] });
    started.push(vlagent.process);
    const ca = await startOpenBaoPkiCa(join(dir, 'ca'));
    components.push(ca.component);
    const pki = await startCaEndpoint(dir, ca);
    started.push({ stop: () => pki.endpoint.close() });
    const { endpoint } = pki;
    const receivers = await startRecordingReceivers();
    started.push({ stop: () => receivers.close() });
    const amDir = join(dir, 'alertmanager');
    mkdirSync(amDir, { recursive: true });
    const alertmanager = await startAlertmanager(amDir, writeDeployedAlertmanagerConfig(amDir, receivers));
    started.push(alertmanager.process);
    await Promise.all(components.filter((c) => c !== ca.component).map((c) => platformFor(c).start()));
    const raw = {
      ...dr.raw,
      components,
      logPipeline: victoriaLogsPipeline(p, s, canaryFile, { outageWindowSeconds: 20, catchUpLimitSeconds: 90 }),
      caOutage: pki.caOutage,
      alertmanager: { url: alertmanager.url },
      alertingDrill: { deliveryProbe: { url: receivers.probeUrl }, expectReceiver: 'critical' },
      quarterlyDrill: { drills: ['vault-restore', 'log-failover', 'ca-outage', 'alerting'] },
    };
    return {
      dr,
      vlagent,
      ca,
      endpoint,
      receivers,
      alertmanager,
      raw,
      componentsRunning: () => Promise.all(components.map(async (c) => (await platformFor(c).status()).running)),
      async startPrometheus(workerMetrics) {
        const promDir = join(dir, 'prometheus');
        mkdirSync(promDir, { recursive: true });
        const rulesDir = join(deployDir, 'prometheus', 'rules');
        const config = writePrometheusConfig(promDir, {
          intervalSeconds: 1,
          ruleFiles: readdirSync(rulesDir).filter((f) => f.endsWith('.yml')).map((f) => join(rulesDir, f)),
          scrapeConfigs: [
            { job_name: 'secdr-worker', static_configs: [{ targets: workerMetrics }] },
            { job_name: 'vlagent', static_configs: [{ targets: [hostPort(vlagent.url)] }] },
          ],
        });
        const prometheus = await startPrometheus(promDir, config);
        started.push(prometheus.process);
        return prometheus;
      },
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}
