import assert from 'node:assert/strict';
import { join } from 'node:path';
import { startOpenBao, writeStaticSealKey, type OpenBaoNode } from '../../dev-stack/openbao';
import { initNode, waitForActive } from '../../dev-stack/openbao-setup';
import type { HttpServer } from '../../dev-stack/prometheus';
import { waitFor } from '../../dev-stack/wait';
import {
  deployDir,
  promQuery,
  startAlertmanagerFromDeploy,
  startPrometheusWith,
  startSink,
  type AmDelivery,
} from '../harness/alerting';
import { tempDir } from '../harness/temp';

/**
 * Prometheus → Alertmanager → receiver with real servers and the deployed rules and routing:
 * Prometheus scrapes a real OpenBao node's /v1/sys/metrics and evaluates
 * deploy/prometheus/rules/vault.yml unchanged (VaultDown: `up{job="vault"} == 0` for 1m);
 * Alertmanager runs deploy/alertmanager/alertmanager.yml with the receivers pointed at this test.
 *
 * Shortened for the test, and only these: scrape/evaluation interval 1 s (deployed 15 s), and the
 * critical route's group_interval 5 s (deployed 1m), which only delays the resolved notification.
 * The rule's `for: 1m` and the critical route's group_wait 10 s are as deployed, so the alert takes
 * a bit over a minute to arrive and the whole test about a minute and a half.
 */
describe('alert pipeline end to end (real OpenBao, Prometheus with the deployed rules, Alertmanager)', function () {
  this.timeout(240_000);
  const tmp = tempDir('e2e-alerts');
  let vault: OpenBaoNode | undefined;
  let prometheus: HttpServer | undefined;
  let alertmanager: HttpServer | undefined;
  let sink: Awaited<ReturnType<typeof startSink>> | undefined;

  before(async () => {
    vault = await startOpenBao({
      dir: tmp.dir,
      nodeId: 'bao-0',
      staticSealKeyFile: writeStaticSealKey(join(tmp.dir, 'seal.key')),
    });
    await initNode(vault.address, 'auto');
    sink = await startSink();
    alertmanager = await startAlertmanagerFromDeploy(
      tmp.dir,
      { deadmansswitch: `${sink.url}/watchdog`, critical: `${sink.url}/critical`, warning: `${sink.url}/warning` },
      { critical: { group_interval: '5s' } },
    );
    prometheus = await startPrometheusWith(tmp.dir, {
      intervalSeconds: 1,
      ruleFiles: [join(deployDir, 'prometheus', 'rules', 'vault.yml')],
      alertmanagers: [new URL(alertmanager.url).host],
      // As the vault job in deploy/prometheus/prometheus.yml, over plain HTTP on loopback.
      scrapeConfigs: [
        {
          job_name: 'vault',
          metrics_path: '/v1/sys/metrics',
          params: { format: ['prometheus'] },
          static_configs: [{ targets: [new URL(vault.address).host], labels: { cluster: 'primary' } }],
        },
      ],
    });
  });

  after(async () => {
    await prometheus?.process.stop();
    await alertmanager?.process.stop();
    await vault?.process.stop();
    await sink?.close();
    tmp.cleanup();
  });

  /** VaultDown alerts as delivered to the critical receiver, in arrival order. */
  const vaultDown = () =>
    sink!.received
      .filter((r) => r.path === '/critical')
      .flatMap((r) => (r.body as AmDelivery).alerts.map((a) => ({ at: r.at, ...a })))
      .filter((a) => a.labels.alertname === 'VaultDown');

  it('delivers VaultDown when the Vault node stops, not before its `for`, and the resolution when it is back', async () => {
    await waitFor(
      'Prometheus to scrape the Vault node',
      async () => (await promQuery(prometheus!.url, 'up{job="vault"} == 1')).length === 1,
      {
        timeoutMs: 60_000,
        intervalMs: 500,
      },
    );
    assert.equal(vaultDown().length, 0, 'nothing while Vault is up');

    const stoppedAt = Date.now();
    await vault!.process.stop();
    const firing = await waitFor(
      'VaultDown at the critical receiver',
      async () => vaultDown().find((a) => a.status === 'firing'),
      {
        timeoutMs: 150_000,
        intervalMs: 500,
      },
    );
    assert.ok(
      firing.at - stoppedAt >= 60_000,
      `delivered ${(firing.at - stoppedAt) / 1000} s after the stop: the rule's for: 1m must hold first`,
    );
    assert.equal(firing.labels.severity, 'critical');
    assert.equal(firing.labels.cluster, 'primary', 'the cluster label Alertmanager inhibits on');
    assert.equal(firing.labels.instance, new URL(vault!.address).host);
    assert.match(firing.annotations.runbook_url, /docs\/monitoring\.md#vaultdown$/);

    vault!.process.start();
    await waitForActive(vault!.address); // the static seal unseals it by itself
    const resolved = await waitFor(
      'the VaultDown resolution at the critical receiver',
      async () => vaultDown().find((a) => a.status === 'resolved'),
      {
        timeoutMs: 90_000,
        intervalMs: 500,
      },
    );
    assert.equal(resolved.labels.instance, firing.labels.instance);
    assert.ok(resolved.at > firing.at);
  });
});
