import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { assertSucceeded, repoRoot, requireTool, runTool } from './tools';

const promDir = join(repoRoot, 'deploy', 'prometheus');
const ruleFiles = readdirSync(join(promDir, 'rules'))
  .filter((f) => f.endsWith('.yml'))
  .map((f) => join('rules', f));
const testFiles = readdirSync(join(promDir, 'tests'))
  .filter((f) => f.endsWith('.test.yml'))
  .map((f) => join('tests', f));

const RUNBOOK_BASE = 'https://github.com/secdr/secdr/blob/main/docs/monitoring.md#';

interface AlertRule {
  alert: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

function alertRules(): AlertRule[] {
  return ruleFiles.flatMap((file) => {
    const doc = parse(readFileSync(join(promDir, file), 'utf8')) as { groups: { rules: AlertRule[] }[] };
    return doc.groups.flatMap((g) => g.rules.filter((r) => r.alert));
  });
}

/** Prometheus duration ("1m", "30s", "1m30s") in seconds. */
function seconds(duration: string | undefined): number {
  if (!duration) return 0;
  const units: Record<string, number> = { ms: 0.001, s: 1, m: 60, h: 3600, d: 86400, w: 604800 };
  let total = 0;
  for (const [, n, unit] of duration.matchAll(/(\d+)(ms|s|m|h|d|w)/g)) total += Number(n) * units[unit];
  return total;
}

describe('deploy/prometheus', function () {
  this.timeout(120_000);

  before(() => {
    requireTool('promtool');
  });

  it('every rule file is valid (promtool check rules)', async () => {
    assertSucceeded(await runTool('promtool', ['check', 'rules', ...ruleFiles], { cwd: promDir }));
  });

  it('the example prometheus.yml and the rule files it loads are valid (promtool check config)', async () => {
    assertSucceeded(await runTool('promtool', ['check', 'config', 'prometheus.yml'], { cwd: promDir }));
  });

  it('every alert rule fires within its window and not before (promtool test rules)', async () => {
    assertSucceeded(await runTool('promtool', ['test', 'rules', ...testFiles], { cwd: promDir }));
  });

  it('every alert carries a severity, a summary, a description and a runbook section in docs/monitoring.md', () => {
    const docs = readFileSync(join(repoRoot, 'docs', 'monitoring.md'), 'utf8');
    const problems: string[] = [];
    for (const rule of alertRules()) {
      const severity = rule.labels?.severity;
      const allowed = rule.alert === 'Watchdog' ? ['none'] : ['critical', 'warning'];
      if (!severity || !allowed.includes(severity))
        problems.push(`${rule.alert}: severity "${severity}" not in ${allowed}`);
      for (const key of ['summary', 'description', 'runbook_url']) {
        if (!rule.annotations?.[key]) problems.push(`${rule.alert}: missing annotation ${key}`);
      }
      const anchor = rule.alert.toLowerCase();
      if (rule.annotations?.runbook_url !== RUNBOOK_BASE + anchor) {
        problems.push(`${rule.alert}: runbook_url should be ${RUNBOOK_BASE + anchor}`);
      }
      if (!new RegExp(`^### ${rule.alert}$`, 'm').test(docs)) {
        problems.push(`${rule.alert}: docs/monitoring.md has no "### ${rule.alert}" section for the runbook link`);
      }
    }
    assert.deepEqual(problems, []);
  });

  it('every alert has a test where it fires and stays silent in the healthy-installation test', () => {
    type AlertTest = { alertname: string; exp_alerts?: unknown[] };
    const firing = new Set<string>();
    const silentWhenHealthy = new Set<string>();
    for (const file of testFiles) {
      const doc = parse(readFileSync(join(promDir, file), 'utf8')) as { tests: { alert_rule_test?: AlertTest[] }[] };
      for (const t of doc.tests.flatMap((x) => x.alert_rule_test ?? [])) {
        if ((t.exp_alerts ?? []).length > 0) firing.add(t.alertname);
        else if (file.endsWith('healthy.test.yml')) silentWhenHealthy.add(t.alertname);
      }
    }
    const alerts = alertRules().map((r) => r.alert);
    assert.deepEqual(
      alerts.filter((a) => !firing.has(a)),
      [],
      'alerts without a test that shows them firing',
    );
    assert.deepEqual(
      alerts.filter((a) => a !== 'Watchdog' && !silentWhenHealthy.has(a)),
      [],
      'alerts not asserted silent in tests/healthy.test.yml',
    );
  });

  it('every alert reaches its receiver within 2 minutes: scrape + timeout + evaluation + for + group_wait', () => {
    const prom = parse(readFileSync(join(promDir, 'prometheus.yml'), 'utf8')) as {
      global: { scrape_interval: string; scrape_timeout: string; evaluation_interval: string };
    };
    const am = parse(readFileSync(join(repoRoot, 'deploy', 'alertmanager', 'alertmanager.yml'), 'utf8')) as {
      route: { group_wait: string; routes: { receiver: string; group_wait?: string }[] };
    };
    const groupWait: Record<string, number> = {
      critical: seconds(am.route.routes.find((r) => r.receiver === 'critical')?.group_wait ?? am.route.group_wait),
      warning: seconds(am.route.routes.find((r) => r.receiver === 'warning')?.group_wait ?? am.route.group_wait),
    };
    // Alerts whose condition needs a whole window without increase: the window replaces the
    // scrape timeout and the evaluation alignment (see the comment on each rule).
    const windowed: Record<string, number> = { LogPipelineDown: 60 };
    const scrape = seconds(prom.global.scrape_interval);
    const pipeline = scrape + seconds(prom.global.scrape_timeout) + seconds(prom.global.evaluation_interval);
    const over: string[] = [];
    for (const rule of alertRules().filter((r) => r.alert !== 'Watchdog')) {
      const detect = rule.alert in windowed ? scrape + windowed[rule.alert] : pipeline;
      const worst = detect + seconds(rule.for) + groupWait[rule.labels?.severity ?? 'warning'];
      if (!(worst <= 120)) over.push(`${rule.alert}: worst case ${worst}s`);
    }
    assert.deepEqual(over, []);
  });
});
