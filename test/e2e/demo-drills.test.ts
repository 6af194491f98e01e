import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { tempDir } from '../harness/temp';

const repo = resolve(__dirname, '..', '..');

/** Live processes whose command line mentions `dir`: every server the demo starts keeps its data there. */
function processesUnder(dir: string): string[] {
  const found: string[] = [];
  for (const pid of readdirSync('/proc').filter((n) => /^\d+$/.test(n))) {
    try {
      const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ');
      if (cmd.includes(dir)) found.push(`${pid}: ${cmd.trim()}`);
    } catch {
      // exited while we looked
    }
  }
  return found;
}

/** `npm run demo -- …` as a user runs it (non-interactive: CI set), its servers' data under `demoDir`. */
function demo(demoDir: string, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((ok) => {
    execFile(join(repo, 'node_modules', '.bin', 'tsx'), [join(repo, 'scripts', 'demo.ts'), ...args], { cwd: repo, env: { ...process.env, CI: '1', SECDR_DEMO_DIR: demoDir }, timeout: 600_000, maxBuffer: 16 << 20 }, (err, stdout, stderr) =>
      ok({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

describe('npm run demo -- --drill (the real command, real servers)', function () {
  this.timeout(720_000);
  const tmp = tempDir('demo-drills');
  after(() => tmp.cleanup());

  it('--drill ca-outage runs the drill on a real OpenBao PKI CA and TLS endpoint, prints the outcome, recovery time, headroom and report, and leaves no process behind', async () => {
    const r = await demo(tmp.dir, ['--drill', 'ca-outage']);
    assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
    assert.match(r.stdout, /^ {2}ca-outage drill: succeeded \(exit 0\)$/m);
    const recovered = /renewal recovered ([\d.]+) s after the CA was started \(SLO 60 s\)/.exec(r.stdout);
    assert.ok(recovered && Number(recovered[1]) <= 60, r.stdout);
    // A 24 h certificate against a 2 h outage window + margin: about 22 h of headroom, not a finding.
    const headroom = /headroom web: certificate valid .* more, ([\d.]+) h beyond outage window \+ renewal margin$/m.exec(r.stdout);
    assert.ok(headroom && Number(headroom[1]) > 20 && Number(headroom[1]) < 22.1, r.stdout);
    const report = /^ {2}report: (.+\.md)$/m.exec(r.stdout)?.[1];
    assert.ok(report && existsSync(report), `report file named in the output exists: ${report}`);
    assert.match(readFileSync(report, 'utf8'), /succeeded/);
    assert.deepEqual(processesUnder(tmp.dir), []);
  });

  it('--drill log-failover runs the drill on real VictoriaLogs ×2 and vlagent, prints the canary counts, the failover delay within 30 s, the catch-up and the report, and leaves no process behind', async () => {
    const r = await demo(tmp.dir, ['--drill', 'log-failover']);
    assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
    assert.match(r.stdout, /^ {2}log-failover drill: succeeded \(exit 0\)$/m);
    const counts = /^ {2}canaries: (\d+) sent; primary (\d+) received \((\d+) missing\), secondary (\d+) received \((\d+) missing\)$/m.exec(r.stdout);
    assert.ok(counts, r.stdout);
    const [sent, primary, primaryMissing, secondary, secondaryMissing] = counts.slice(1).map(Number);
    // A 30 s window at one canary a second; fewer on a loaded machine, never none.
    assert.ok(sent >= 10, `sent ${sent}`);
    assert.deepEqual([primary, primaryMissing, secondary, secondaryMissing], [sent, 0, sent, 0]);
    const failover = /^ {2}failover: first outage canary in the secondary (\d+) s after the stop \(SLO 30 s\)$/m.exec(r.stdout);
    assert.ok(failover && Number(failover[1]) <= 30, r.stdout);
    const catchUp = /^ {2}catch-up: every outage canary in the primary (\d+) s after it was ready$/m.exec(r.stdout);
    assert.ok(catchUp, r.stdout);
    const report = /^ {2}report: (.+\.md)$/m.exec(r.stdout)?.[1];
    assert.ok(report && existsSync(report), `report file named in the output exists: ${report}`);
    assert.match(readFileSync(report, 'utf8'), /^- Outcome: \*\*SUCCEEDED\*\*$/m);
    console.log(`      demo log-failover: ${sent} canaries, failover ${failover[1]} s, catch-up ${catchUp[1]} s`);
    assert.deepEqual(processesUnder(tmp.dir), []);
  });

  it('--drill quarterly runs every drill on the full local stack, prints each one passing, the wall time, the HTML and JUnit reports and the freshness gauges, and leaves no process behind', async () => {
    const r = await demo(tmp.dir, ['--drill', 'quarterly']);
    assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
    const wall = /^ {2}quarterly drill: succeeded \(exit 0\), wall time ([\d.]+) s$/m.exec(r.stdout);
    assert.ok(wall, r.stdout);
    console.log(`      quarterly drill wall time in the demo: ${wall[1]} s`);
    for (const d of ['vault-restore', 'log-failover', 'ca-outage', 'alerting']) assert.match(r.stdout, new RegExp(`^ {4}${d} +succeeded +[\\d.]+ s$`, 'm'));
    const html = /^ {2}HTML report: +(\S+\.html) /m.exec(r.stdout)?.[1];
    assert.ok(html && /<html/i.test(readFileSync(html, 'utf8')), `HTML report named in the output: ${html}`);
    const junit = /^ {2}JUnit: +(\S+)$/m.exec(r.stdout)?.[1];
    assert.ok(junit, r.stdout);
    assert.equal((readFileSync(junit, 'utf8').match(/<testsuite name="[^"]+"[^>]* failures="0"/g) ?? []).length, 4);
    const freshness = /^ {2}drill freshness in Prometheus: (.*)$/m.exec(r.stdout)?.[1] ?? '';
    for (const d of ['quarterly', 'log-failover', 'ca-outage', 'alerting']) assert.match(freshness, new RegExp(`(^|, )${d} \\d{4}-`), `${d} freshness gauge set: ${freshness}`);
    assert.deepEqual(processesUnder(tmp.dir), []);
  });

  it('--drill with an unknown name exits 2 naming the drill and the ones the demo runs, and starts nothing', async () => {
    const r = await demo(tmp.dir, ['--drill', 'toString']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /--drill toString: unknown drill; the demo runs: log-failover, ca-outage, quarterly/);
    assert.equal(existsSync(join(tmp.dir, 'demo-toString')), false);
  });
});
