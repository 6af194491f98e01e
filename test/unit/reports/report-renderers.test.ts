import assert from 'node:assert/strict';
import { compareReports } from '../../../lib/reports/compare';
import { renderReportHtml } from '../../../lib/reports/html';
import { renderJunitXml } from '../../../lib/reports/junit';
import { renderMarkdown } from '../../../lib/reports/markdown';
import { sampleCaOutageReport, sampleDrillReport, sampleLogFailoverReport } from '../../fixtures/sample-reports';

describe('report renderers', () => {
  describe('HTML', () => {
    const html = renderReportHtml(sampleDrillReport());

    it('is self-contained: no scripts, no external stylesheets, fonts or images', () => {
      assert.doesNotMatch(html, /<script/i, 'step details are escaped, never markup');
      assert.doesNotMatch(html, /<link|@import|url\(|src=/i);
      assert.match(html, /&lt;script&gt;alert\(1\)&lt;\/script&gt;/);
    });

    it('draws one timeline row per step and per SLO, with the SLO limit marked', () => {
      assert.equal(html.match(/class="row step"/g)?.length, 8);
      assert.equal(html.match(/class="row slo"/g)?.length, 3);
      // Each SLO on its own scale (1.25 × the larger of limit and measurement): the limit at 80 %.
      assert.equal(html.match(/class="limit" style="left:80\.00%"/g)?.length, 3);
      // 21.4 s of a 300 s limit: 21.4 / 375 = 5.71 %.
      assert.match(html, /class="bar met" style="left:0;width:5\.71%"/);
      assert.match(html, /not reached \/ 30 s <b>BREACHED<\/b>/);
    });

    it('lists findings as runbook gaps and the comparison with the previous drill', () => {
      assert.match(html, /<li>log-failover: SLO &quot;logs visible in secondary&quot; breached/);
      assert.match(html, /quarterly-drill-20260830-030000/);
      assert.match(html, /<td>48\.0 s<\/td><td>21\.4 s<\/td><td>-26\.6 s<\/td><td><span class="badge better">better/);
    });

    it('says so when there is no previous run and nothing was found', () => {
      const clean = renderReportHtml(sampleDrillReport({ comparison: undefined, findings: [], outcome: 'succeeded' }));
      assert.match(clean, /No previous run of this procedure/);
      assert.match(clean, /None: every step and SLO held/);
    });
  });

  describe('JUnit XML', () => {
    const xml = renderJunitXml([sampleDrillReport()]);

    it('has one test case per step and per SLO; failures carry the reason', () => {
      assert.equal(xml.match(/<testcase /g)?.length, 8 + 3);
      assert.match(xml, /<testsuites name="secdr drills" tests="11" failures="2">/);
      assert.match(xml, /name="log-failover: Secondary shows the canaries"[^>]*>\s*<failure message="no canary in the secondary after 30 s &lt;script&gt;/);
      assert.match(xml, /name="SLO: log-failover: logs visible in secondary"[^>]*>\s*<failure message="breached: not reached, limit 30 s"/);
      assert.match(xml, /name="ca-outage: Check certificates near expiry"[^>]*>\s*<skipped/);
    });

    it('fails a run that failed before any step, so CI cannot show it green', () => {
      const early = renderJunitXml([sampleDrillReport({ steps: [], slos: [], outcome: 'failed', error: 'approval timed out' })]);
      assert.match(early, /<testcase classname="secdr.quarterly" name="procedure"[^>]*>\s*<failure message="approval timed out"/);
    });

    it("treats a restore's `verified` as a pass", () => {
      const x = renderJunitXml([sampleDrillReport({ procedure: 'vault-restore', outcome: 'verified' as never, steps: [], slos: [], compensations: [] })]);
      assert.match(x, /tests="0" failures="0"/);
    });

    it('reports an undo that failed as a failing case', () => {
      const x = renderJunitXml([sampleDrillReport({ compensations: [{ name: 'Restart the primary backend', outcome: 'failed', detail: 'exit 1' }] })]);
      assert.match(x, /name="compensation: Restart the primary backend"[^>]*>\s*<failure message="exit 1"/);
    });
  });

  describe('Markdown', () => {
    /** The rows of the Markdown table under `heading`, as arrays of cells (header and rule left out). */
    const tableUnder = (md: string, heading: string) => {
      const after = md.split(`## ${heading}\n`)[1];
      assert.ok(after, `no section "${heading}" in:\n${md}`);
      const section = after.split('\n## ')[0];
      return section
        .split('\n')
        .filter((l) => l.startsWith('|'))
        .slice(2)
        .map((l) => l.slice(2, -2).split(' | '));
    };

    it('renders a CA-outage drill as an inventory/headroom table: endpoint, subject, serial, notAfter, time left, headroom against window + margin', () => {
      const md = renderMarkdown(sampleCaOutageReport());
      assert.match(md, /\| endpoint \| subject \| serial \| notAfter \| time left \| headroom vs window \+ margin \|/);
      assert.match(md, /time left minus \(outage window \+ renewal margin = 2h 0m\)/, 'window + margin recovered from the inventory figures');
      assert.deepEqual(tableUnder(md, 'Certificates and headroom'), [
        // web: the figures taken while the CA was down win over the inventory's (-17 s then, -18 s later).
        ['web', 'CN=localhost', '0A1B', '2026-11-29T04:59:43.000Z', '1h 59m', '-0m 18s **SHORT**'],
        ['api', 'CN=localhost', '2C3D', '2026-12-29T03:00:00.000Z', '29d 23h', '29d 21h ok'],
        ['ingress', 'Certificate apps/web-tls', 'revision 3', '2027-02-27T03:00:00.000Z', '89d 23h', '89d 21h ok'],
      ]);
      assert.deepEqual(tableUnder(md, 'Renewed certificates installed'), [['web', '0A1B', '6A7B', '2026-12-29T03:00:00.000Z', '0.2 s']]);
      assert.match(md, /- Renewal while the CA was down: failed as `CaUnavailable` after 0\.3 s/);
      assert.match(md, /- Root: recorded b{16}…, after recovery b{16}…: same/);
      assert.doesNotMatch(md, /`\{/, 'no JSON blob left');
    });

    it('renders the CA-outage timeline as a table, one row per event in order', () => {
      const rows = tableUnder(renderMarkdown(sampleCaOutageReport()), 'Timeline');
      assert.deepEqual(rows.map((r) => [r[0], r[2]]), [
        ['0.4 s', 'inventory recorded'],
        ['1.2 s', 'CA stopped'],
        ['1.5 s', 'renewal failed: CaUnavailable'],
        ['2.5 s', 'CA started'],
        ['3.5 s', 'renewal succeeded 1 s after the CA was started'],
      ]);
    });

    it('marks a changed root and renders what an older report lacks as absent, not as an error', () => {
      const r = sampleCaOutageReport();
      r.details.root = { recorded: 'b'.repeat(64), afterRecovery: 'c'.repeat(64), changed: true };
      delete r.details.headroom;
      delete r.details.installed;
      const md = renderMarkdown(r);
      assert.match(md, /after recovery c{16}…: \*\*CHANGED\*\*/);
      assert.equal(tableUnder(md, 'Certificates and headroom')[0][5], '-0m 17s **SHORT**', 'the inventory figures when the drill never got past it');
      assert.doesNotMatch(md, /## Renewed certificates installed/);
    });

    it('renders a log-failover drill: timeline and canary counts as tables, missing canaries by number', () => {
      const md = renderMarkdown(sampleLogFailoverReport());
      assert.deepEqual(tableUnder(md, 'Timeline').map((r) => r[2]), [
        'steady state: canary 0 in both backends',
        'primary stopped',
        'first outage canary in the secondary (2.7 s after the stop)',
        'primary restarted',
        'primary ready',
      ]);
      assert.deepEqual(tableUnder(md, 'Canaries'), [
        ['outage canaries sent', '12'],
        ['received by the primary', '11 of 12'],
        ['received by the secondary', '12 of 12'],
        ['missing in the primary', '1 (7)'],
        ['missing in the secondary', '0'],
        ['first outage canary in the secondary', '2.7 s after the stop'],
        ['caught up', '5.2 s after the restarted backend(s) were ready'],
      ]);
      // Fields without a table of their own are still shown.
      assert.match(md, /## Other results\n\n- alertsFiring: `\["LogBackendDown"\]`/);
    });

    it('escapes a pipe in an event so the table keeps its columns', () => {
      const r = sampleLogFailoverReport();
      r.details.timeline[1].event = 'primary stopped | by the drill';
      assert.match(renderMarkdown(r), /\| primary stopped \\\| by the drill \|/);
    });

    it('keeps the compact list for procedures without their own rendering', () => {
      const md = renderMarkdown(sampleDrillReport());
      assert.match(md, /## Results\n\n- drills: `\[\{"drill":"log-failover","outcome":"failed"\}\]`\n- approvedBy: alice\n/);
    });
  });

  describe('comparison with the previous drill', () => {
    const base = sampleDrillReport();
    const prev = sampleDrillReport({
      workflowId: 'prev',
      slos: [
        { slo: 'vault-restore: secrets readable', limitSeconds: 300, measuredSeconds: 60, met: true },
        { slo: 'log-failover: logs visible in secondary', limitSeconds: 30, measuredSeconds: 10, met: true },
        { slo: 'alerting: notification delivered', limitSeconds: 120, measuredSeconds: 11.5, met: true },
        { slo: 'retired slo', limitSeconds: 10, measuredSeconds: 1, met: true },
      ],
    });

    it('calls faster better, a new breach worse, noise the same, and names vanished SLOs', () => {
      const c = compareReports(base, prev);
      const by = Object.fromEntries(c.slos.map((s) => [s.slo, s.change]));
      assert.deepEqual(by, {
        'vault-restore: secrets readable': 'better',
        'log-failover: logs visible in secondary': 'worse',
        'alerting: notification delivered': 'same',
        'retired slo': 'gone',
      });
      assert.equal(c.previousWorkflowId, 'prev');
    });

    it('calls a slower run that still met its limit worse', () => {
      const slower = sampleDrillReport({ slos: [{ slo: 'vault-restore: secrets readable', limitSeconds: 300, measuredSeconds: 120, met: true }] });
      assert.equal(compareReports(slower, prev).slos[0].change, 'worse');
    });
  });
});
