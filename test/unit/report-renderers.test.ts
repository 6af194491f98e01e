import assert from 'node:assert/strict';
import { compareReports } from '../../lib/reports/compare';
import { renderReportHtml } from '../../lib/reports/html';
import { renderJunitXml } from '../../lib/reports/junit';
import { sampleDrillReport } from '../fixtures/sample-reports';

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
