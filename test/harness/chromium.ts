import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { WebSocket } from 'undici';
import { freePort } from '../../dev-stack/ports';
import { requireBinary } from '../../dev-stack/paths';
import { ManagedProcess } from '../../dev-stack/supervisor';
import { waitFor } from '../../dev-stack/wait';

/**
 * Real headless Chromium driven over the DevTools protocol (one page), for tests that must see a
 * page as a person's browser renders it: layout, visibility, a screenshot. No browser download:
 * Debian's `chromium` (scripts/install-servers.sh).
 */
export interface Browser {
  /** Loads `url` and waits for the load event. */
  open(url: string): Promise<void>;
  /** Evaluates an expression in the page and returns its JSON value. */
  evaluate<T>(expression: string): Promise<T>;
  /** PNG of the whole page (beyond the viewport too). */
  screenshot(): Promise<Buffer>;
  close(): Promise<void>;
}

export async function startChromium(dir: string, viewport = { width: 1280, height: 900 }): Promise<Browser> {
  const bin = requireBinary('chromium');
  mkdirSync(join(dir, 'profile'), { recursive: true });
  const port = await freePort();
  const proc = new ManagedProcess({
    name: 'chromium',
    command: bin,
    args: [
      '--headless=new',
      // The suite runs as root, where Chromium refuses its sandbox; the page is our own file.
      '--no-sandbox',
      '--disable-gpu',
      '--no-first-run',
      '--hide-scrollbars',
      `--user-data-dir=${join(dir, 'profile')}`,
      '--remote-debugging-address=127.0.0.1',
      `--remote-debugging-port=${port}`,
      `--window-size=${viewport.width},${viewport.height}`,
      'about:blank',
    ],
    logFile: join(dir, 'chromium.log'),
  }).start();
  const page = await waitFor(
    `chromium DevTools on 127.0.0.1:${port}`,
    async () => {
      proc.assertAlive();
      const res = await fetch(`http://127.0.0.1:${port}/json/list`, { signal: AbortSignal.timeout(2000) });
      const targets = (await res.json()) as { type: string; webSocketDebuggerUrl: string }[];
      return targets.find((t) => t.type === 'page');
    },
    { timeoutMs: 30_000, intervalMs: 200 },
  );
  const ws = new WebSocket(page.webSocketDebuggerUrl);
  await new Promise<void>((ok, bad) => {
    ws.addEventListener('open', () => ok());
    ws.addEventListener('error', () => bad(new Error(`cannot connect to ${page.webSocketDebuggerUrl}`)));
  });
  let nextId = 1;
  const pending = new Map<number, { ok: (v: Record<string, unknown>) => void; bad: (e: Error) => void }>();
  const events: ((method: string) => void)[] = [];
  ws.addEventListener('message', (ev) => {
    const msg = JSON.parse(String(ev.data)) as { id?: number; method?: string; result?: Record<string, unknown>; error?: { message: string } };
    if (msg.id !== undefined) {
      const p = pending.get(msg.id);
      pending.delete(msg.id);
      if (msg.error) p?.bad(new Error(msg.error.message));
      else p?.ok(msg.result ?? {});
    } else if (msg.method) events.forEach((e) => e(msg.method!));
  });
  const send = (method: string, params: object = {}) =>
    new Promise<Record<string, unknown>>((ok, bad) => {
      const id = nextId++;
      pending.set(id, { ok, bad });
      ws.send(JSON.stringify({ id, method, params }));
    });
  await send('Page.enable');
  await send('Emulation.setDeviceMetricsOverride', { ...viewport, deviceScaleFactor: 1, mobile: false });

  return {
    async open(url) {
      const loaded = new Promise<void>((ok) => events.push((m) => m === 'Page.loadEventFired' && ok()));
      await send('Page.navigate', { url });
      await loaded;
    },
    async evaluate<T>(expression: string) {
      const r = (await send('Runtime.evaluate', { expression, returnByValue: true })) as {
        result: { value: T };
        exceptionDetails?: { text: string };
      };
      if (r.exceptionDetails) throw new Error(`page: ${r.exceptionDetails.text} in ${expression}`);
      return r.result.value;
    },
    async screenshot() {
      const r = (await send('Page.captureScreenshot', { format: 'png', captureBeyondViewport: true })) as { data: string };
      return Buffer.from(r.data, 'base64');
    },
    async close() {
      ws.close();
      await proc.stop();
    },
  };
}
