import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { durationSeconds, parseMatcher, resolveRoutes } from '../../../lib/alerting/routes';
import { requireBinary } from '../../../dev-stack/paths';
import { deployDir } from '../../harness/alerting';
import { tempDir } from '../../harness/temp';

const deployed = join(deployDir, 'alertmanager', 'alertmanager.yml');

/** What `amtool config routes test` answers: the receiver names, comma-separated. */
function amtool(configFile: string, labels: Record<string, string>): string[] {
  const out = execFileSync(requireBinary('amtool'), ['config', 'routes', 'test', `--config.file=${configFile}`, ...Object.entries(labels).map(([k, v]) => `${k}=${v}`)], { stdio: ['ignore', 'pipe', 'pipe'] }).toString();
  return out.trim().split(',').map((s) => s.trim());
}

describe('alerting drill: route resolution', () => {
  const cases: Record<string, string>[] = [
    { alertname: 'DR_DRILL_TEST', severity: 'critical', drill_id: 'd-1' },
    { alertname: 'Watchdog', severity: 'none' },
    { alertname: 'VaultDown', severity: 'warning', cluster: 'prod' },
    { alertname: 'Other', severity: 'info' },
  ];
  for (const labels of cases) {
    it(`agrees with amtool on the deployed tree for ${labels.alertname}/${labels.severity}`, () => {
      const ours = resolveRoutes(readFileSync(deployed, 'utf8'), labels).map((r) => r.receiver);
      assert.deepEqual(ours, amtool(deployed, labels));
    });
  }

  it('sends the drill alert to the critical receiver with its own group_wait and a webhook', () => {
    const [r] = resolveRoutes(readFileSync(deployed, 'utf8'), cases[0]);
    assert.equal(r.receiver, 'critical');
    assert.equal(r.groupWaitSeconds, 10);
    assert.equal(r.groupIntervalSeconds, 60);
    assert.deepEqual(r.integrations, ['webhook']);
    assert.match(r.path, /^route\.routes\[1\] \{severity="critical"\}$/);
  });

  it('follows continue: true into every matching route, and inherits receiver and timing', () => {
    const yaml = `
route:
  receiver: default
  group_wait: 20s
  routes:
    - matchers: ['team=~"sec|ops"']
      receiver: audit
      continue: true
    - match: { severity: critical }
      group_interval: 2m
      routes:
        - matchers: [env!="prod"]
          receiver: staging
receivers: [{ name: default }, { name: audit, email_configs: [{ to: a@b, smarthost: 'mail:25', from: s@b }] }, { name: staging, webhook_configs: [{ url: 'http://x' }] }]
`;
    const rs = resolveRoutes(yaml, { team: 'sec', severity: 'critical', env: 'prod' });
    assert.deepEqual(
      rs.map((r) => [r.receiver, r.groupWaitSeconds, r.groupIntervalSeconds, r.integrations.join()]),
      [
        ['audit', 20, 300, 'email'],
        ['default', 20, 120, ''],
      ],
    );
    const tmp = tempDir('routes');
    try {
      const file = join(tmp.dir, 'am.yml');
      writeFileSync(file, yaml);
      assert.deepEqual(amtool(file, { team: 'sec', severity: 'critical', env: 'prod' }), ['audit', 'default']);
      assert.deepEqual(resolveRoutes(yaml, { team: 'x', severity: 'critical', env: 'dev' }).map((r) => r.receiver), amtool(file, { team: 'x', severity: 'critical', env: 'dev' }));
    } finally {
      tmp.cleanup();
    }
  });

  it('parses matchers and durations as Alertmanager writes them, and refuses what it cannot read', () => {
    assert.deepEqual(parseMatcher('alertname=~"Vault.*"'), { name: 'alertname', op: '=~', value: 'Vault.*' });
    assert.deepEqual(parseMatcher('team != ops'), { name: 'team', op: '!=', value: 'ops' });
    assert.equal(durationSeconds('1h30m'), 5400);
    assert.throws(() => parseMatcher('not a matcher'), /not of the form name="value"/);
    assert.throws(() => durationSeconds('5 minutes'), /not a Prometheus duration/);
  });
});
