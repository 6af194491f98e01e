import { timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { Payload, PayloadCodec } from '@temporalio/common';
import { invalidInput } from '../failure-types';

interface JsonPayload {
  metadata?: Record<string, string>;
  data?: string;
}

const fromJson = (p: JsonPayload): Payload => ({
  metadata: Object.fromEntries(Object.entries(p.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64')])),
  data: p.data !== undefined ? Buffer.from(p.data, 'base64') : undefined,
});
const toJson = (p: Payload): JsonPayload => ({
  metadata: Object.fromEntries(Object.entries(p.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v).toString('base64')])),
  data: p.data ? Buffer.from(p.data).toString('base64') : undefined,
});

export interface CodecServerOptions {
  codec: PayloadCodec;
  host: string;
  /** 0 picks a free port. */
  port: number;
  /**
   * Required on every request: `Authorization: Bearer TOKEN`, or as the first path segment
   * (`/TOKEN/decode`) for the Web UI, whose codec endpoint setting is a URL and cannot add
   * headers. Without it anyone who reaches the port could decrypt history.
   */
  token: string;
  /** The one browser origin allowed (the Web UI's, e.g. http://127.0.0.1:8233); any other Origin gets 403. */
  allowedOrigin: string;
}

function sameSecret(given: string | undefined, token: string): boolean {
  if (!given) return false;
  const [a, b] = [Buffer.from(given), Buffer.from(token)];
  return a.length === b.length && timingSafeEqual(a, b);
}

/** The operation a request asks for, if its token is right: `decode`, `encode`, or why not. */
function route(req: IncomingMessage, token: string): { op?: 'decode' | 'encode'; status?: number; why?: string } {
  const url = (req.url ?? '/').split('?')[0];
  const parts = url.split('/').filter(Boolean);
  const bearer = /^Bearer (.+)$/i.exec(req.headers.authorization ?? '')?.[1];
  let rest = parts;
  if (!sameSecret(bearer, token)) {
    if (!sameSecret(parts[0] ? decodeURIComponent(parts[0]) : undefined, token)) {
      return { status: 401, why: 'codec server: missing or wrong token; send `Authorization: Bearer <codec.server.token>` or put the token first in the endpoint path' };
    }
    rest = parts.slice(1);
  }
  const op = rest.join('/');
  if (op === 'decode' || op === 'encode') return { op };
  return { status: 404, why: 'codec server: POST /decode or /encode' };
}

/**
 * The codec server the Temporal Web UI calls (POST /decode, /encode) so an operator
 * sees decrypted inputs and results in the browser, while the history stays encrypted.
 * Every request needs the token; browsers are answered only from `allowedOrigin` (CORS).
 */
export function startCodecServer(opts: CodecServerOptions): Promise<Server> {
  if (opts.token.length < 16) throw invalidInput('codec.server.token: use at least 16 random characters (e.g. `openssl rand -base64 32`)');
  const server = createServer((req, res) => {
    const origin = req.headers.origin;
    if (origin !== undefined && origin !== opts.allowedOrigin) {
      return void res.writeHead(403, { 'content-type': 'text/plain' }).end(`codec server: origin ${origin} is not allowed (codec.server.allowedOrigin)`);
    }
    if (origin) {
      res.setHeader('Access-Control-Allow-Origin', opts.allowedOrigin);
      res.setHeader('Vary', 'Origin');
      res.setHeader('Access-Control-Allow-Methods', 'POST, OPTIONS');
      res.setHeader('Access-Control-Allow-Headers', 'content-type, x-namespace, authorization');
    }
    // A preflight carries no credentials by design; the real request that follows does.
    if (req.method === 'OPTIONS') return void res.writeHead(204).end();
    const { op, status, why } = route(req, opts.token);
    if (!op) return void res.writeHead(status!, { 'content-type': 'text/plain' }).end(why);
    if (req.method !== 'POST') return void res.writeHead(405, { allow: 'POST' }).end();
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      void (async () => {
        try {
          const body = JSON.parse(Buffer.concat(chunks).toString()) as { payloads: JsonPayload[] };
          const out = await opts.codec[op](body.payloads.map(fromJson));
          res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ payloads: out.map(toJson) }));
        } catch (err) {
          res.writeHead(400, { 'content-type': 'text/plain' }).end(`cannot ${op}: ${(err as Error).message}`);
        }
      })();
    });
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, () => resolve(server));
  });
}
