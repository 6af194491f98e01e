import { timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Heartbeat } from '../workflows/dead-mans-switch';
import type { DrillDeliveryLog } from './alerting/drill-deliveries';
import { listenFailed } from './listen-error';

/** The parts of Alertmanager's webhook payload (version 4) that the switch reads. */
export interface AlertmanagerWebhookPayload {
  version?: string;
  status?: string;
  alerts: { status?: string; labels?: Record<string, string> }[];
}

export interface WebhookServerOptions {
  host: string;
  /** 0 picks a free port (tests). */
  port: number;
  /**
   * Called once per delivery that contains a firing `alertname="Watchdog"` alert. A rejection (or no
   * answer within `handlerTimeoutMs`) makes the delivery fail with 503, so Alertmanager retries it and
   * counts the failure (AlertmanagerNotificationsFailing).
   */
  onHeartbeat: (hb: Heartbeat) => Promise<void>;
  /** Milliseconds `onHeartbeat` may take. Default 5000, well inside Alertmanager's webhook timeout. */
  handlerTimeoutMs?: number;
  /** Largest accepted body in bytes. Default 1 MiB. */
  maxBodyBytes?: number;
  /** Where refused deliveries and handler failures are reported. Default: console.warn. */
  warn?: (message: string) => void;
  /**
   * What Alertmanager's `webhook_config.http_config` sends: `authorization` (Bearer) or `basic_auth`.
   * A delivery to /watchdog without it is answered 401 and never counts as a heartbeat, so a forged
   * POST cannot keep the dead man's switch quiet.
   */
  auth?: WebhookAuth;
  /**
   * The alerting drill's delivery probe (lib/alerting/drill-deliveries.ts): deliveries POSTed to
   * `/drill/<receiver>` (same auth as /watchdog) are recorded, `GET /drill/deliveries?drill_id=`
   * lists them. Absent: no /drill endpoints.
   */
  drillDeliveries?: DrillDeliveryLog;
}

export type WebhookAuth = { bearerToken: string } | { basicAuth: { username: string; password: string } };

function sameSecret(given: string, expected: string): boolean {
  const [a, b] = [Buffer.from(given), Buffer.from(expected)];
  return a.length === b.length && timingSafeEqual(a, b);
}

/** True when the request carries the configured credentials. */
export function authorized(header: string | undefined, auth: WebhookAuth): boolean {
  const [scheme, value] = (header ?? '').split(/\s+/, 2);
  if ('bearerToken' in auth) return /^bearer$/i.test(scheme) && !!value && sameSecret(value, auth.bearerToken);
  if (!/^basic$/i.test(scheme) || !value) return false;
  return sameSecret(Buffer.from(value, 'base64').toString('utf8'), `${auth.basicAuth.username}:${auth.basicAuth.password}`);
}

export interface WebhookServer {
  /** Base URL, `http://HOST:PORT`; Alertmanager posts to `${url}/watchdog`. */
  url: string;
  port: number;
  close(): Promise<void>;
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

async function readBody(req: IncomingMessage, limit: number): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > limit) throw new HttpError(413, `body larger than ${limit} bytes`);
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** Validates the JSON as an Alertmanager webhook payload; throws 400 saying what is wrong. */
export function parseWebhookPayload(text: string): AlertmanagerWebhookPayload {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new HttpError(400, `body is not JSON (${(err as Error).message})`);
  }
  if (typeof json !== 'object' || json === null || !Array.isArray((json as { alerts?: unknown }).alerts)) {
    throw new HttpError(400, 'body is not an Alertmanager webhook payload: expected an object with an `alerts` array');
  }
  const alerts = (json as { alerts: unknown[] }).alerts;
  if (!alerts.every((a) => typeof a === 'object' && a !== null))
    throw new HttpError(400, 'every entry of `alerts` must be an object');
  return json as AlertmanagerWebhookPayload;
}

/** True when the delivery carries a firing Watchdog: the only thing that counts as a heartbeat. */
export function hasFiringWatchdog(payload: AlertmanagerWebhookPayload): boolean {
  return payload.alerts.some((a) => a.status === 'firing' && a.labels?.alertname === 'Watchdog');
}

function withTimeout(p: Promise<void>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    // eslint-disable-next-line no-restricted-syntax -- internal: becomes the 503 answer's text and a warning, never thrown to a caller
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

/**
 * The dead man's switch receiver: Alertmanager posts its webhook deliveries to `POST /watchdog`.
 * Each delivery with a firing Watchdog becomes one heartbeat (receive time and status, nothing from
 * the alert's labels or annotations). Answers 200 for deliveries it accepted (heartbeat or not),
 * 400 for malformed JSON, 413 for oversized bodies, 503 when the heartbeat could not be passed on.
 */
export async function startWebhookServer(opts: WebhookServerOptions): Promise<WebhookServer> {
  const warn = opts.warn ?? ((m: string) => console.warn(m));
  const reply = (res: ServerResponse, status: number, body: object) =>
    res.writeHead(status, { 'content-type': 'application/json' }).end(`${JSON.stringify(body)}\n`);

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path === '/-/healthy' && req.method === 'GET') return reply(res, 200, { ok: true });
    if (opts.drillDeliveries && path.startsWith('/drill/')) return handleDrill(req, res, path, opts.drillDeliveries);
    if (path !== '/watchdog') return reply(res, 404, { error: 'Alertmanager deliveries go to POST /watchdog' });
    if (req.method !== 'POST') {
      res.setHeader('allow', 'POST');
      return reply(res, 405, { error: 'use POST' });
    }
    if (opts.auth && !authorized(req.headers.authorization, opts.auth)) {
      res.setHeader('www-authenticate', 'bearerToken' in opts.auth ? 'Bearer' : 'Basic realm="secdr webhook"');
      throw new HttpError(401, 'missing or wrong credentials; configure Alertmanager\'s webhook_config http_config with deadMansSwitch.auth (docs/dead-mans-switch.md)');
    }
    const payload = parseWebhookPayload(await readBody(req, opts.maxBodyBytes ?? 1024 * 1024));
    if (!hasFiringWatchdog(payload)) return reply(res, 200, { heartbeat: false });
    try {
      await withTimeout(
        opts.onHeartbeat({ receivedAt: new Date().toISOString(), status: 'firing' }),
        opts.handlerTimeoutMs ?? 5000,
      );
    } catch (err) {
      const why = err instanceof Error ? err.message : String(err);
      warn(`webhook: heartbeat not passed on to the dead man's switch (${why}); answering 503 so Alertmanager retries`);
      return reply(res, 503, { error: `heartbeat not recorded: ${why}` });
    }
    return reply(res, 200, { heartbeat: true });
  };

  const handleDrill = async (req: IncomingMessage, res: ServerResponse, path: string, log: DrillDeliveryLog) => {
    if (path === '/drill/deliveries' && req.method === 'GET') {
      const id = new URL(req.url ?? '/', 'http://x').searchParams.get('drill_id');
      if (!id) throw new HttpError(400, 'give the drill id: /drill/deliveries?drill_id=ID');
      return reply(res, 200, { deliveries: log.query(id) });
    }
    if (req.method !== 'POST') {
      res.setHeader('allow', 'POST');
      return reply(res, 405, { error: 'Alertmanager posts drill deliveries to POST /drill/<receiver>' });
    }
    if (opts.auth && !authorized(req.headers.authorization, opts.auth)) {
      res.setHeader('www-authenticate', 'bearerToken' in opts.auth ? 'Bearer' : 'Basic realm="secdr webhook"');
      throw new HttpError(401, 'missing or wrong credentials; give the drill webhook_config the same http_config as /watchdog');
    }
    const payload = parseWebhookPayload(await readBody(req, opts.maxBodyBytes ?? 1024 * 1024));
    try {
      return reply(res, 200, { recorded: log.record(path.slice('/drill/'.length), payload) });
    } catch (err) {
      throw new HttpError(400, (err as Error).message);
    }
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      const status = err instanceof HttpError ? err.status : 500;
      const why = err instanceof Error ? err.message : String(err);
      warn(`webhook: refused a delivery to ${req.url ?? '/'} with ${status}: ${why}`);
      if (!res.headersSent) reply(res, status, { error: why });
      else res.end();
    });
  });
  // Alertmanager keeps connections alive between deliveries; never hold a request forever.
  server.requestTimeout = 30_000;
  await new Promise<void>((resolve, reject) => {
    const failed = (err: NodeJS.ErrnoException) =>
      reject(listenFailed('webhook', opts.host, opts.port, err, 'deadMansSwitch.listen.host/port'));
    server.once('error', failed);
    server.listen(opts.port, opts.host, () => {
      server.off('error', failed);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://${opts.host.includes(':') ? `[${opts.host}]` : opts.host}:${port}`,
    port,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeAllConnections();
      }),
  };
}
