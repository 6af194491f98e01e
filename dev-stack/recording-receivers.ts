import { readFileSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { deployDir } from './paths';

/**
 * Real HTTP endpoints that record what Alertmanager sends them, for the alerting drill's tests:
 *
 * - `POST /webhook/<name>`: Alertmanager's webhook_configs payload (version 4).
 * - `POST /pagerduty/<name>/v2/enqueue` (or `/pagerduty/v2/enqueue`, recorded without a receiver
 *   name): shaped like PagerDuty's Events API v2 (what Alertmanager's own
 *   pagerduty_configs send): validates the event as PagerDuty does (routing_key, event_action,
 *   payload.summary/source/severity on trigger) and answers 202 with a dedup_key, or 400 saying
 *   what is missing, so a malformed payload fails the delivery as it would in production.
 * - `GET /deliveries?drill_id=ID`: the drill's delivery probe (docs/runbooks/quarterly-drill.md):
 *   every notification that mentions the drill id, with its status and arrival time.
 */

export interface Delivery {
  /** `webhook/<name>`, `pagerduty/<name>` or `pagerduty`: the drill counts only its route's receiver's. */
  receiver: string;
  status: 'firing' | 'resolved';
  receivedAt: string;
  /** The drill ids this notification carries (webhook: the label; PagerDuty: found in the event). */
  drillIds: string[];
  body: unknown;
}

export interface PagerDutyEvent {
  routing_key: string;
  event_action: 'trigger' | 'acknowledge' | 'resolve';
  dedup_key?: string;
  payload?: { summary: string; source: string; severity: string; custom_details?: Record<string, unknown> };
  client?: string;
  client_url?: string;
}

export interface RecordingReceivers {
  url: string;
  deliveries: Delivery[];
  /** Requests refused, with the reason (tests assert there are none). */
  refused: { path: string; status: number; reason: string }[];
  /** The probe URL a drill config points at. */
  probeUrl: string;
  close(): Promise<void>;
}

const SEVERITIES = ['critical', 'error', 'warning', 'info'];

function pagerDutyProblems(e: Partial<PagerDutyEvent>): string[] {
  const p: string[] = [];
  if (typeof e.routing_key !== 'string' || e.routing_key.length !== 32) p.push('routing_key must be a 32-character integration key');
  if (!['trigger', 'acknowledge', 'resolve'].includes(e.event_action as string)) p.push('event_action must be trigger, acknowledge or resolve');
  if (e.event_action !== 'trigger' && !e.dedup_key) p.push('dedup_key is required to acknowledge or resolve');
  if (e.event_action === 'trigger') {
    if (!e.payload?.summary) p.push('payload.summary is required');
    if (!e.payload?.source) p.push('payload.source is required');
    if (!SEVERITIES.includes(e.payload?.severity as string)) p.push(`payload.severity must be one of ${SEVERITIES.join(', ')}`);
    if ((e.payload?.summary?.length ?? 0) > 1024) p.push('payload.summary is longer than 1024 characters');
  }
  return p;
}

const DRILL_ID = /"?drill_id"?\s*(?:=|:)\s*\\?"?([A-Za-z0-9._:-]+)/g;

export async function startRecordingReceivers(): Promise<RecordingReceivers> {
  const deliveries: Delivery[] = [];
  const refused: RecordingReceivers['refused'] = [];
  const reply = (res: ServerResponse, status: number, body: object) => res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));

  const read = async (req: IncomingMessage) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    return Buffer.concat(chunks).toString('utf8');
  };

  const server = createServer((req, res) => {
    void (async () => {
      const u = new URL(req.url ?? '/', 'http://x');
      const refuse = (status: number, reason: string) => {
        refused.push({ path: u.pathname, status, reason });
        reply(res, status, { status: 'invalid event', message: reason, errors: [reason] });
      };
      if (req.method === 'GET' && u.pathname === '/deliveries') {
        const id = u.searchParams.get('drill_id');
        if (!id) return reply(res, 400, { error: 'give ?drill_id=' });
        const found = deliveries.filter((d) => d.drillIds.includes(id)).map(({ receiver, status, receivedAt }) => ({ receiver, status, receivedAt }));
        return reply(res, 200, { deliveries: found });
      }
      if (req.method !== 'POST') return refuse(405, 'use POST');
      let body: unknown;
      try {
        body = JSON.parse(await read(req));
      } catch {
        return refuse(400, 'body is not JSON');
      }
      const receivedAt = new Date().toISOString();
      if (u.pathname.startsWith('/webhook/')) {
        const b = body as { status?: string; alerts?: { labels?: Record<string, string> }[] };
        if (!Array.isArray(b.alerts) || (b.status !== 'firing' && b.status !== 'resolved')) return refuse(400, 'not an Alertmanager webhook payload');
        const drillIds = [...new Set(b.alerts.map((a) => a.labels?.drill_id).filter((x): x is string => Boolean(x)))];
        deliveries.push({ receiver: u.pathname.slice(1), status: b.status, receivedAt, drillIds, body });
        return reply(res, 200, {});
      }
      const pd = /^\/pagerduty(?:\/([A-Za-z0-9_.-]+))?\/v2\/enqueue$/.exec(u.pathname);
      if (pd) {
        const e = body as Partial<PagerDutyEvent>;
        const problems = pagerDutyProblems(e);
        if (problems.length) return refuse(400, problems.join('; '));
        const drillIds = [...new Set([...JSON.stringify(e.payload ?? {}).matchAll(DRILL_ID)].map((m) => m[1]))];
        deliveries.push({ receiver: pd[1] ? `pagerduty/${pd[1]}` : 'pagerduty', status: e.event_action === 'resolve' ? 'resolved' : 'firing', receivedAt, drillIds, body });
        return reply(res, 202, { status: 'success', message: 'Event processed', dedup_key: e.dedup_key ?? 'generated' });
      }
      return refuse(404, `no receiver at ${u.pathname}`);
    })().catch((err: unknown) => {
      if (!res.headersSent) reply(res, 500, { error: String(err) });
    });
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    deliveries,
    refused,
    probeUrl: `${url}/deliveries`,
    close: () =>
      new Promise<void>((ok) => {
        server.close(() => ok());
        server.closeAllConnections();
      }),
  };
}

/** A 32-character PagerDuty integration key; Alertmanager reads it from a file, never from the YAML. */
export const PAGERDUTY_ROUTING_KEY = 'R0123456789abcdef0123456789abcde';

/**
 * deploy/alertmanager/alertmanager.yml as deployed, with its receivers pointed at the recording
 * receivers: the critical (on-call) receiver gets a webhook and Alertmanager's own pagerduty_configs.
 * Only the critical route's group_interval is shortened (1m → 5s): it only delays the resolved
 * notification. group_wait (10 s) is as deployed, so the firing notification takes its real time.
 */
export function writeDeployedAlertmanagerConfig(dir: string, rx: RecordingReceivers): string {
  const cfg = parse(readFileSync(join(deployDir, 'alertmanager', 'alertmanager.yml'), 'utf8')) as {
    route: { routes: { receiver: string; group_interval?: string }[] };
    receivers: Record<string, unknown>[];
  };
  const keyFile = join(dir, 'pagerduty.key');
  writeFileSync(keyFile, PAGERDUTY_ROUTING_KEY, { mode: 0o600 });
  cfg.receivers = cfg.receivers.map((r) =>
    r.name === 'critical'
      ? { name: 'critical', webhook_configs: [{ url: `${rx.url}/webhook/critical`, send_resolved: true }], pagerduty_configs: [{ routing_key_file: keyFile, url: `${rx.url}/pagerduty/critical/v2/enqueue`, send_resolved: true }] }
      : { name: r.name, webhook_configs: [{ url: `${rx.url}/webhook/${String(r.name)}` }] },
  );
  for (const r of cfg.route.routes) if (r.receiver === 'critical') r.group_interval = '5s';
  const file = join(dir, 'alertmanager.yml');
  writeFileSync(file, stringify(cfg));
  return file;
}
