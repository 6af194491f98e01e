import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { renderReportHtml } from '../../lib/reports/html';
import { startChromium, type Browser } from '../harness/chromium';
import { tempDir } from '../harness/temp';
import { sampleDrillReport } from '../fixtures/sample-reports';

/** Where the screenshot for the docs goes when SECDR_WRITE_SCREENSHOT=1 (docs/runbooks/quarterly-drill.md shows it). */
const docsScreenshot = resolve(__dirname, '..', '..', 'docs', 'images', 'drill-report.png');

interface Box {
  cls: string;
  left: number;
  width: number;
  height: number;
  visible: boolean;
}

describe('drill report HTML in real headless Chromium', function () {
  this.timeout(90_000);
  const tmp = tempDir('report-html');
  let browser: Browser | undefined;

  before(async () => {
    const file = join(tmp.dir, 'report.html');
    writeFileSync(file, renderReportHtml(sampleDrillReport()));
    browser = await startChromium(tmp.dir);
    await browser.open(pathToFileURL(file).href);
  });
  after(async () => {
    await browser?.close();
    tmp.cleanup();
  });

  it('renders the timeline visibly: every step and SLO bar has size, on screen, in time order', async () => {
    const bars = await browser!.evaluate<Box[]>(`[...document.querySelectorAll('#timeline .bar')].map((b) => {
      const r = b.getBoundingClientRect(); const s = getComputedStyle(b);
      return { cls: b.className, left: r.left, width: r.width, height: r.height,
               visible: s.visibility === 'visible' && s.display !== 'none' && r.width > 0 && r.height > 0 };
    })`);
    assert.equal(bars.length, 8 + 3);
    assert.ok(bars.every((b) => b.visible && b.height >= 10), `bars not all visible: ${JSON.stringify(bars)}`);
    const steps = bars.slice(0, 8);
    for (let i = 1; i < steps.length; i++) assert.ok(steps[i].left >= steps[i - 1].left, 'steps are laid out left to right in time order');
    // The failed step and the breached SLO are red, the rest of the SLOs green.
    const red = await browser!.evaluate<string[]>(`[...document.querySelectorAll('#timeline .bar')].filter((b) => getComputedStyle(b).backgroundColor === 'rgb(198, 40, 40)').map((b) => b.title.split(':').slice(0, 2).join(':'))`);
    assert.deepEqual(red, ['log-failover: Secondary shows the canaries', 'log-failover: logs visible in secondary']);
  });

  it('puts the SLO limit marker where the limit falls on the SLO row\'s scale', async () => {
    const m = await browser!.evaluate<{ track: { left: number; width: number }; limit: number }>(`(() => {
      const row = [...document.querySelectorAll('#timeline .row.slo')].find((r) => r.textContent.includes('logs visible'));
      const t = row.querySelector('.track').getBoundingClientRect();
      return { track: { left: t.left, width: t.width }, limit: row.querySelector('.limit').getBoundingClientRect().left };
    })()`);
    // Its own scale: 1.25 × the 30 s limit, so the limit sits at 80 % of the track.
    const expected = m.track.left + m.track.width * 0.8;
    assert.ok(Math.abs(m.limit - expected) < 2, `limit marker at ${m.limit}px, expected ${expected}px`);
  });

  it('shows findings and the comparison as text a reader sees', async () => {
    const text = await browser!.evaluate<string>('document.body.innerText');
    assert.match(text, /Runbook gaps found/);
    assert.match(text, /log-failover: step "Secondary shows the canaries" failed/);
    assert.match(text, /Compared with the previous run/);
    assert.doesNotMatch(text, /undefined|NaN/);
  });

  it('takes a full-page screenshot', async () => {
    const png = await browser!.screenshot();
    assert.equal(png.subarray(1, 4).toString('ascii'), 'PNG');
    assert.ok(png.length > 20_000, `screenshot only ${png.length} bytes: the page is probably blank`);
    writeFileSync(join(tmp.dir, 'report.png'), png);
    if (process.env.SECDR_WRITE_SCREENSHOT === '1') {
      mkdirSync(resolve(docsScreenshot, '..'), { recursive: true });
      writeFileSync(docsScreenshot, png);
    }
  });
});
