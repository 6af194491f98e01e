import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { atReceiver } from '../../../activities/alerting-drill';
import { receiverAtPath, resolveRoutes } from '../../../lib/alerting/routes';
import { deployDir } from '../../harness/alerting';

describe('alerting drill: the receiver a resolved route path names', () => {
  const deployed = readFileSync(join(deployDir, 'alertmanager', 'alertmanager.yml'), 'utf8');

  it('finds the receiver of every route resolveRoutes returns on the deployed tree', () => {
    const cases: Record<string, string>[] = [{ severity: 'critical', alertname: 'DR_DRILL_TEST' }, { severity: 'warning', alertname: 'X' }, { alertname: 'Watchdog' }, { alertname: 'Other' }];
    for (const labels of cases) {
      for (const r of resolveRoutes(deployed, labels)) assert.equal(receiverAtPath(deployed, r.path), r.receiver, r.path);
    }
    assert.equal(receiverAtPath(deployed, 'route.routes[1] {severity="critical"}'), 'critical');
  });

  it('inherits the receiver from the parent route, as Alertmanager does', () => {
    const yaml = stringify({ route: { receiver: 'root', routes: [{ receiver: 'team', matchers: ['team="sec"'], routes: [{ matchers: ['severity="critical"'] }] }] }, receivers: [{ name: 'root' }, { name: 'team' }] });
    assert.equal(receiverAtPath(yaml, 'route.routes[0] {team="sec"}.routes[0] {severity="critical"}'), 'team');
    assert.equal(receiverAtPath(yaml, 'route'), 'root');
  });

  it('answers undefined for a path the tree no longer has, or whose matchers changed (a renumbered route)', () => {
    assert.equal(receiverAtPath(deployed, 'route.routes[7] {team="gone"}'), undefined);
    assert.equal(receiverAtPath(deployed, 'route.routes[1] {severity="warning"}'), undefined);
    assert.equal(receiverAtPath(deployed, 'routes[1]'), undefined);
  });

  it('matches probe receiver names: `critical` from secdr webhook, `webhook/critical` and `pagerduty/critical` from the recording receivers', () => {
    assert.ok(atReceiver('critical', 'critical'));
    assert.ok(atReceiver('webhook/critical', 'critical'));
    assert.ok(atReceiver('pagerduty/critical', 'critical'));
    assert.ok(!atReceiver('webhook/warning', 'critical'));
    assert.ok(!atReceiver('pagerduty', 'critical'));
    assert.ok(!atReceiver('webhook/critical-2', 'critical'));
  });
});
