import assert from 'node:assert/strict';
import { registry } from '../../procedures';
import { quarterly } from '../../procedures/quarterly';
import { desiredSchedules } from '../../scripts/commands/schedules';
import { testConfig } from '../harness/config';
import { tempDir } from '../harness/temp';

describe('quarterly drill input from the config', () => {
  const tmp = tempDir('quarterly-input');
  after(() => tmp.cleanup());
  const alerting = { alertmanager: { url: 'http://127.0.0.1:9093' }, alertingDrill: { deliveryProbe: { url: 'http://127.0.0.1:9096/deliveries' } } };

  it('is registered once, after the drills it runs', () => {
    const names = registry.map((e) => e.name);
    assert.equal(names.filter((n) => n === 'quarterly').length, 1);
    assert.ok(names.indexOf('alerting') < names.indexOf('quarterly'));
  });

  it("builds each configured drill's input through that drill's registry entry, in order", () => {
    const cfg = testConfig(tmp.dir, { ...alerting, quarterlyDrill: { drills: ['alerting'], approval: { required: true, timeoutSeconds: 600 } } });
    const input = quarterly.input(cfg, {});
    assert.deepEqual(input.drills.map((d) => [d.name, d.workflowType]), [['alerting', 'alertingDrillWorkflow']]);
    assert.deepEqual(input.drills[0].input, { labels: {}, sloSeconds: 120, resolvedSloSeconds: 120 });
    assert.deepEqual(input.approval, { timeoutSeconds: 600 });
    assert.equal(quarterly.input(cfg, { noApproval: true }).approval, undefined, '--no-approval skips the gate');
  });

  it('names the drill and the config field when a drill cannot be configured, and how to leave it out', () => {
    const cfg = testConfig(tmp.dir, alerting);
    assert.throws(() => quarterly.input(cfg, {}), /^InvalidInput: quarterlyDrill\.drills\[0\] \(vault-restore\): --target: name a restore target .*; or leave vault-restore out of quarterlyDrill\.drills$/);
  });

  it('refuses an unknown drill name in the config, naming the field', () => {
    assert.throws(() => testConfig(tmp.dir, { quarterlyDrill: { drills: ['alerting', 'chaos-monkey'] } }), /quarterlyDrill\.drills\[1\]: must be one of vault-restore, log-failover, ca-outage, alerting/s);
  });

  it('gives `schedules apply` a quarterly Schedule from quarterlyDrill.schedule', () => {
    const cfg = testConfig(tmp.dir, { ...alerting, quarterlyDrill: { drills: ['alerting'] } });
    const s = desiredSchedules(cfg).find((x) => x.scheduleId === 'secdr-drill-quarterly');
    assert.ok(s, 'quarterly Schedule');
    assert.deepEqual(s.spec.cronExpressions, ['0 3 1 1,4,7,10 *']);
    assert.equal((s.action as { workflowType: string }).workflowType, 'quarterlyDrillWorkflow');
  });
});
