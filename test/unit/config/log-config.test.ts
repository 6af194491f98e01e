import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { ConfigError } from '../../../lib/config/load';
import { BOTH_DOWN_MIN_OUTAGE_SECONDS } from '../../../lib/logs/both-down-window';
import { logFailover } from '../../../procedures/log-failover';
import { testConfig } from '../../harness/config';
import { tempDir } from '../../harness/temp';

/** Bad log-pipeline settings fail with the field, what is wrong and the fix. */
describe('logPipeline config and the log-failover input', () => {
  const tmp = tempDir('log-config');
  after(() => tmp.cleanup());

  const component = (name: string) => ({ name, platform: { type: 'systemd', unit: `${name}.service` } });
  const pipeline = (over: Record<string, unknown> = {}) => ({
    primary: { type: 'victorialogs', url: 'http://logs-a:9428', component: 'logs-a' },
    secondary: { type: 'loki', url: 'http://loki:3100', component: 'logs-b', bearerToken: { env: 'LOKI_TOKEN' } },
    canary: { file: '/var/log/secdr/canary.log' },
    ...over,
  });
  const problems = (overrides: Record<string, unknown>): string[] => {
    try {
      testConfig(tmp.dir, overrides);
    } catch (err) {
      assert.ok(err instanceof ConfigError, String(err));
      return err.problems;
    }
    return [];
  };

  it('accepts a full section and fills the defaults (60 s window, 110 s both-down window, 30 s SLO, Loki selector)', () => {
    const cfg = testConfig(tmp.dir, { components: [component('logs-a'), component('logs-b')], logPipeline: pipeline() });
    assert.equal(cfg.logPipeline!.outageWindowSeconds, 60);
    assert.equal(cfg.logPipeline!.bothDownOutageWindowSeconds, 110);
    assert.equal(cfg.logPipeline!.sloSeconds, 30);
    assert.equal(cfg.logPipeline!.secondary.selector, '{job="fluent-bit"}');
  });

  it('names a backend component missing from components, and how to add it', () => {
    assert.deepEqual(problems({ components: [component('logs-a')], logPipeline: pipeline() }), [
      'logPipeline.secondary.component: no component named "logs-b"; add it under `components` (with its platform: kubernetes, process, systemd or command) or fix the name',
    ]);
  });

  it('refuses one component as both backends (the drill would stop its own secondary)', () => {
    const [p] = problems({ components: [component('logs-a')], logPipeline: pipeline({ secondary: { type: 'victorialogs', url: 'http://b:9428', component: 'logs-a' } }) });
    assert.match(p, /^logPipeline\.secondary\.component: primary and secondary name the same component/);
  });

  it('wants exactly one canary entry point', () => {
    const [p] = problems({ components: [component('logs-a'), component('logs-b')], logPipeline: pipeline({ canary: { file: '/x', ingestUrl: 'http://vlagent:9429/insert/jsonline' } }) });
    assert.match(p, /^logPipeline\.canary: give exactly one of `file`/);
  });

  it('refuses an inline token: credentials are file or env references', () => {
    const out = problems({
      components: [component('logs-a'), component('logs-b')],
      logPipeline: pipeline({ secondary: { type: 'loki', url: 'http://loki:3100', component: 'logs-b', bearerToken: 's3cr3t' } }),
    });
    assert.ok(out.some((p) => p.startsWith('logPipeline.secondary.bearerToken')), out.join('\n'));
    assert.ok(out.every((p) => !p.includes('s3cr3t')), 'the error does not echo the value');
  });

  it('the CLI input names a bad --variant or --outage-seconds, and the missing section', () => {
    const cfg = testConfig(tmp.dir, { components: [component('logs-a'), component('logs-b')], logPipeline: pipeline() });
    assert.throws(() => logFailover.input(cfg, { variant: 'half-down' }), /--variant half-down: unknown variant; use one of primary-down, both-down, dry-run/);
    assert.throws(() => logFailover.input(cfg, { outageSeconds: '2' }), /--outage-seconds 2: give a whole number of seconds, at least 5/);
    assert.throws(() => logFailover.input(testConfig(tmp.dir), {}), /no logPipeline section/);
    assert.deepEqual(logFailover.input(cfg, { variant: 'both-down', outageSeconds: '120' }), {
      variant: 'both-down',
      primary: 'logs-a',
      secondary: 'logs-b',
      outageWindowSeconds: 120,
      canaryIntervalSeconds: 1,
      sloSeconds: 30,
      catchUpLimitSeconds: 120,
    });
  });

  it('both-down: defaults to the 110 s LogPipelineDown needs, and refuses a shorter --outage-seconds or logPipeline.bothDownOutageWindowSeconds naming it', () => {
    const cfg = testConfig(tmp.dir, { components: [component('logs-a'), component('logs-b')], logPipeline: pipeline() });
    assert.equal(logFailover.input(cfg, { variant: 'both-down' }).outageWindowSeconds, 110);
    // primary-down keeps its own (shorter) window.
    assert.equal(logFailover.input(cfg, {}).outageWindowSeconds, 60);
    assert.throws(
      () => logFailover.input(cfg, { variant: 'both-down', outageSeconds: '90' }),
      (err: Error) => {
        assert.equal(err.name, 'InvalidInput');
        assert.match(err.message, /^--outage-seconds 90: too short for --variant both-down, whose LogPipelineDown alert needs .*; give at least 110, or leave it out to use logPipeline\.bothDownOutageWindowSeconds \(110\)$/);
        return true;
      },
    );
    const [p] = problems({ components: [component('logs-a'), component('logs-b')], logPipeline: pipeline({ bothDownOutageWindowSeconds: 75 }) });
    assert.match(p, /^logPipeline\.bothDownOutageWindowSeconds: must be at least 110 s: LogPipelineDown needs a 1-minute window/);
    const longer = testConfig(tmp.dir, { components: [component('logs-a'), component('logs-b')], logPipeline: pipeline({ bothDownOutageWindowSeconds: 150 }) });
    assert.equal(logFailover.input(longer, { variant: 'both-down' }).outageWindowSeconds, 150);
  });

  it('the both-down minimum covers LogPipelineDown as deployed: every rule\'s rate window + for + one 15 s scrape', () => {
    const file = join(__dirname, '..', '..', '..', 'deploy', 'prometheus', 'rules', 'log-pipeline.yml');
    const groups = (parse(readFileSync(file, 'utf8')) as { groups: { rules: { alert?: string; expr: string; for?: string }[] }[] }).groups;
    const rules = groups.flatMap((g) => g.rules).filter((r) => r.alert === 'LogPipelineDown');
    assert.equal(rules.length, 2, 'one LogPipelineDown for Fluent Bit, one for vlagent');
    const seconds = (d: string) => Number(/^(\d+)([sm])$/.exec(d)![1]) * (d.endsWith('m') ? 60 : 1);
    for (const r of rules) {
      const windows = [...r.expr.matchAll(/\[(\d+[sm])\]/g)].map((m) => seconds(m[1]));
      const needed = Math.max(...windows) + seconds(r.for ?? '0s') + 15;
      assert.ok(BOTH_DOWN_MIN_OUTAGE_SECONDS >= needed, `LogPipelineDown needs ${needed} s; the both-down minimum is ${BOTH_DOWN_MIN_OUTAGE_SECONDS}`);
    }
  });
});
