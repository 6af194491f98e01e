import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createAlertActivities } from '../../activities/alertmanager';
import { startAlertmanager, type HttpServer } from '../../dev-stack/prometheus';
import { testConfig } from '../harness/config';
import { tempDir } from '../harness/temp';

describe('SLO-breach alerts reach a real Alertmanager', () => {
  const tmp = tempDir('am-alert');
  let am: HttpServer;
  before(async () => {
    const cfg = join(tmp.dir, 'alertmanager.yml');
    writeFileSync(cfg, 'route:\n  receiver: none\nreceivers:\n  - name: none\n');
    am = await startAlertmanager(join(tmp.dir, 'am'), cfg);
  });
  after(async () => {
    await am?.process.stop();
    tmp.cleanup();
  });

  it('posts a labelled alert through /api/v2/alerts that Alertmanager then lists as active', async () => {
    const alerts = createAlertActivities(testConfig(tmp.dir, { alertmanager: { url: am.url } }));
    const posted = await alerts.postAlert({
      alertname: 'SecdrRestoreSloBreached',
      severity: 'critical',
      labels: { cluster: 'prod', target: 'dr', slo: 'secrets readable' },
      summary: 'restore of prod into dr: secrets readable not met within 300 s',
      workflowId: 'wf-1',
    });
    assert.equal(posted, true);
    const active = (await (await fetch(`${am.url}/api/v2/alerts?filter=alertname="SecdrRestoreSloBreached"`)).json()) as {
      labels: Record<string, string>;
      annotations: Record<string, string>;
      status: { state: string };
    }[];
    assert.equal(active.length, 1);
    assert.deepEqual(active[0].labels, { alertname: 'SecdrRestoreSloBreached', severity: 'critical', source: 'secdr', cluster: 'prod', target: 'dr', slo: 'secrets readable' });
    assert.equal(active[0].annotations.workflow_id, 'wf-1');
    assert.equal(active[0].status.state, 'active');
  });

  it('is a no-op, not an error, when no Alertmanager is configured', async () => {
    const alerts = createAlertActivities(testConfig(tmp.dir));
    assert.equal(await alerts.postAlert({ alertname: 'X', severity: 'warning', labels: {}, summary: 's' }), false);
  });
});
