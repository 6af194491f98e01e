import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createPkiActivities } from '../../activities/pki';
import { startOpenBaoPkiCa, startTlsEndpoint, type LocalCa, type TlsEndpoint } from '../../dev-stack/pki';
import { startPrometheus, type HttpServer } from '../../dev-stack/prometheus';
import { waitFor } from '../../dev-stack/wait';
import { startMetricsServer, type MetricsServer } from '../../lib/metrics-server';
import { deployDir, promQuery, writePrometheusConfig } from '../harness/alerting';
import { testConfig } from '../harness/config';
import { tempDir } from '../harness/temp';

interface PromAlert {
  labels: Record<string, string>;
  state: 'pending' | 'firing';
}

describe('endpoint certificate expiry: real CA → real TLS endpoint → secdr metrics → real Prometheus → alert', function () {
  this.timeout(240_000);
  const tmp = tempDir('ca-expiry');
  let ca: LocalCa;
  const endpoints: TlsEndpoint[] = [];
  let metrics: MetricsServer;
  let prometheus: HttpServer;

  after(async () => {
    await ca?.stop();
    await prometheus?.process.stop();
    await metrics?.close();
    await Promise.all(endpoints.map((e) => e.close()));
    tmp.cleanup();
  });

  it('EndpointCertificateExpiringSoon fires for a short-lived certificate from the real CA, not for a 60-day one', async () => {
    ca = await startOpenBaoPkiCa(join(tmp.dir, 'ca'));
    const dir = join(tmp.dir, 'endpoints');
    endpoints.push(await startTlsEndpoint({ name: 'short-lived', dir, ...(await ca.issue(['localhost'], '1h')) }));
    endpoints.push(await startTlsEndpoint({ name: 'long-lived', dir, ...(await ca.issue(['localhost'], '1440h')) }));
    const trust = join(tmp.dir, 'trust.pem');
    writeFileSync(trust, await ca.rootPem());
    const config = testConfig(tmp.dir, {
      components: [ca.component],
      caOutage: { ca: ca.caConfig, endpoints: endpoints.map((e) => ({ name: e.name, address: e.address })), trustStores: [trust] },
    });
    // The inventory the drill takes first is what exports each endpoint's notAfter.
    const inv = await createPkiActivities(config).inventoryCertificates();
    assert.equal(inv.endpoints.length, 2);

    metrics = await startMetricsServer('127.0.0.1', 0);
    const promDir = join(tmp.dir, 'prometheus');
    mkdirSync(promDir, { recursive: true });
    prometheus = await startPrometheus(
      promDir,
      writePrometheusConfig(promDir, {
        intervalSeconds: 1,
        ruleFiles: [join(deployDir, 'prometheus', 'rules', 'certificates.yml')],
        scrapeConfigs: [{ job_name: 'secdr-worker', static_configs: [{ targets: [`127.0.0.1:${metrics.port}`] }] }],
      }),
    );
    const scraped = await waitFor('Prometheus to scrape both endpoints', async () => {
      const s = await promQuery(prometheus.url, 'secdr_certificate_not_after_timestamp_seconds');
      return s.length === 2 ? s : undefined;
    }, { timeoutMs: 60_000, intervalMs: 500 });
    const notAfter = Object.fromEntries(scraped.map((s) => [s.metric.endpoint, Number(s.value[1])]));
    assert.equal(notAfter['short-lived'], Date.parse(inv.endpoints[0].leaf.notAfter) / 1000);

    // `for: 1m` in the rule: pending first, firing after a minute.
    const firing = await waitFor('EndpointCertificateExpiringSoon to fire', async () => {
      const res = await fetch(`${prometheus.url}/api/v1/alerts`);
      const alerts = ((await res.json()) as { data: { alerts: PromAlert[] } }).data.alerts.filter((a) => a.labels.alertname === 'EndpointCertificateExpiringSoon');
      return alerts.some((a) => a.state === 'firing') ? alerts : undefined;
    }, { timeoutMs: 150_000, intervalMs: 1000 });
    assert.deepEqual(firing.map((a) => a.labels.endpoint), ['short-lived'], 'only the short-lived certificate alerts');
    assert.equal(firing[0].labels.severity, 'warning');
  });
});
