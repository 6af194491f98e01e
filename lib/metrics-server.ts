import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import { registry as secdrRegistry } from './metrics';
import { listenFailed } from './listen-error';

export interface MetricsServerOptions {
  /**
   * The Temporal SDK runtime's own Prometheus endpoint (`http://127.0.0.1:PORT/metrics`, from
   * `Runtime.install({ telemetryOptions: { metrics: { prometheus: { bindAddress } } } })`). Its text
   * is appended to secdr's metrics on every scrape, so one scrape job sees both. Default: none.
   */
  runtimeMetricsUrl?: string;
  /** How long a scrape waits for the runtime endpoint, in milliseconds. Default 2000. */
  runtimeTimeoutMs?: number;
  /** The registry to serve. Default: secdr's registry from lib/metrics.ts. */
  registry?: Registry;
}

export interface MetricsServer {
  /** Base URL, `http://HOST:PORT`; metrics are under `/metrics`. */
  url: string;
  port: number;
  close(): Promise<void>;
}

const CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

/**
 * Fetches the runtime's exposition text. Both are the Prometheus text format and their names do not
 * overlap (`temporal_*` against `secdr_*`), so concatenating them is a valid exposition.
 */
async function runtimeMetrics(url: string, timeoutMs: number): Promise<string | undefined> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
    if (!res.ok) {
      await res.body?.cancel();
      return undefined;
    }
    // An OpenMetrics terminator would end the exposition early for the parser.
    return (await res.text()).replace(/^# EOF\s*$/m, '');
  } catch {
    return undefined;
  }
}

function runtimeUp(up: boolean): string {
  return [
    '# HELP secdr_worker_runtime_metrics_up Whether the Temporal SDK runtime metrics were included in this scrape (1) or could not be read (0).',
    '# TYPE secdr_worker_runtime_metrics_up gauge',
    `secdr_worker_runtime_metrics_up ${up ? 1 : 0}`,
    '',
  ].join('\n');
}

/**
 * Serves secdr's Prometheus metrics on `GET /metrics` (and `GET /-/healthy`), plus the Temporal SDK
 * runtime's metrics when `runtimeMetricsUrl` is given. Port 0 picks a free port (tests).
 */
export async function startMetricsServer(
  host: string,
  port: number,
  opts: MetricsServerOptions = {},
): Promise<MetricsServer> {
  const registry = opts.registry ?? secdrRegistry;
  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain' }).end('use GET\n');
      return;
    }
    if (path === '/-/healthy') {
      res.writeHead(200, { 'content-type': 'text/plain' }).end('ok\n');
      return;
    }
    if (path !== '/metrics') {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('metrics are at /metrics\n');
      return;
    }
    let body = await registry.metrics();
    if (opts.runtimeMetricsUrl) {
      const runtime = await runtimeMetrics(opts.runtimeMetricsUrl, opts.runtimeTimeoutMs ?? 2000);
      body = `${body.replace(/\n*$/, '\n')}${runtimeUp(runtime !== undefined)}${runtime ?? ''}`;
    }
    res.writeHead(200, { 'content-type': CONTENT_TYPE }).end(req.method === 'HEAD' ? undefined : body);
  };
  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
      res.end(`metrics collection failed: ${err instanceof Error ? err.message : String(err)}\n`);
    });
  });
  await new Promise<void>((resolve, reject) => {
    const failed = (err: NodeJS.ErrnoException) =>
      reject(listenFailed('metrics server', host, port, err, 'metrics.host/metrics.port'));
    server.once('error', failed);
    server.listen(port, host, () => {
      server.off('error', failed);
      resolve();
    });
  });
  const actual = (server.address() as AddressInfo).port;
  const shownHost = host.includes(':') ? `[${host}]` : host;
  return {
    url: `http://${shownHost}:${actual}`,
    port: actual,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeAllConnections();
      }),
  };
}
