import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { deployDir } from '../../dev-stack/paths';
import { startAlertmanager, startPrometheus, writePrometheusConfig, type HttpServer, type PrometheusConfigOptions } from '../../dev-stack/prometheus';

export { deployDir };
export { promQuery, writePrometheusConfig, type PrometheusConfigOptions, type Sample } from '../../dev-stack/prometheus';

interface Route {
  receiver?: string;
  matchers?: string[];
  group_wait?: string;
  group_interval?: string;
  repeat_interval?: string;
  routes?: Route[];
}

/**
 * deploy/alertmanager/alertmanager.yml with every receiver's webhook URL replaced (by receiver name)
 * and, where given, the intervals of the routes to a receiver shortened. Routing, grouping and
 * inhibition stay as deployed. A deployed `http_config.authorization.credentials_file` (the
 * watchdog's bearer token) points at `credentials[receiver]`, or at a throw-away token under `dir`
 * for a receiver that checks none. Returns the path of the written file.
 */
export function writeAlertmanagerConfigFromDeploy(
  dir: string,
  receivers: Record<string, string>,
  shorten: Record<string, Pick<Route, 'group_wait' | 'group_interval' | 'repeat_interval'>> = {},
  credentials: Record<string, string> = {},
): string {
  const config = parse(readFileSync(join(deployDir, 'alertmanager', 'alertmanager.yml'), 'utf8')) as {
    route: Route;
    receivers: { name: string; webhook_configs?: { url: string; http_config?: { authorization?: { credentials_file?: string } } }[] }[];
  };
  for (const r of config.receivers) {
    const url = receivers[r.name];
    if (!url) throw new Error(`no test URL for receiver ${r.name} of deploy/alertmanager/alertmanager.yml`);
    for (const w of r.webhook_configs ?? []) {
      w.url = url;
      const auth = w.http_config?.authorization;
      if (auth?.credentials_file) auth.credentials_file = credentials[r.name] ?? unusedToken(dir, r.name);
    }
  }
  const walk = (route: Route) => {
    if (route.receiver && shorten[route.receiver]) Object.assign(route, shorten[route.receiver]);
    route.routes?.forEach(walk);
  };
  walk(config.route);
  const file = join(dir, 'alertmanager.yml');
  writeFileSync(file, stringify(config));
  return file;
}

/** A token file for a receiver whose test server checks no credentials (Alertmanager still needs the file). */
function unusedToken(dir: string, receiver: string): string {
  const file = join(dir, `${receiver}-unchecked.token`);
  writeFileSync(file, 'unchecked-by-this-test', { mode: 0o600 });
  return file;
}

/** Alertmanager in `<dir>/alertmanager` on the deployed routing, as `writeAlertmanagerConfigFromDeploy` rewrites it. */
export async function startAlertmanagerFromDeploy(
  dir: string,
  receivers: Record<string, string>,
  shorten?: Parameters<typeof writeAlertmanagerConfigFromDeploy>[2],
  credentials?: Parameters<typeof writeAlertmanagerConfigFromDeploy>[3],
): Promise<HttpServer> {
  const amDir = join(dir, 'alertmanager');
  mkdirSync(amDir, { recursive: true });
  return startAlertmanager(amDir, writeAlertmanagerConfigFromDeploy(amDir, receivers, shorten, credentials));
}

/** Prometheus in `<dir>/prometheus` with the config `writePrometheusConfig` writes from `opts`. */
export async function startPrometheusWith(dir: string, opts: PrometheusConfigOptions): Promise<HttpServer> {
  const promDir = join(dir, 'prometheus');
  mkdirSync(promDir, { recursive: true });
  return startPrometheus(promDir, writePrometheusConfig(promDir, opts));
}

export interface Received {
  path: string;
  at: number;
  body: unknown;
}

/** A tiny HTTP receiver that records every POSTed JSON body (invalid JSON is recorded as the raw text). */
export async function startSink(): Promise<{ url: string; received: Received[]; close: () => Promise<void> }> {
  const received: Received[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      let body: unknown = text;
      try {
        body = JSON.parse(text);
      } catch {
        // kept as text: the test asserts it is JSON
      }
      received.push({ path: (req.url ?? '/').split('?')[0], at: Date.now(), body });
      res.writeHead(200).end();
    });
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    received,
    close: () =>
      new Promise<void>((ok) => {
        server.close(() => ok());
        server.closeAllConnections();
      }),
  };
}

/** Alertmanager webhook payload, the fields the tests look at. */
export interface AmDelivery {
  status: string;
  alerts: { status: string; labels: Record<string, string>; annotations: Record<string, string> }[];
}
