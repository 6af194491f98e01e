import { createServer, type Server } from 'node:http';
import type { Payload, PayloadCodec } from '@temporalio/common';

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

/**
 * The codec server the Temporal Web UI calls (POST /decode, /encode) so an
 * operator sees decrypted inputs and results in the browser, while the history
 * stays encrypted. `allowedOrigin` is the UI's origin (CORS).
 */
export function startCodecServer(codec: PayloadCodec, host: string, port: number, allowedOrigin: string): Promise<Server> {
  const server = createServer((req, res) => {
    res.setHeader('Access-Control-Allow-Origin', allowedOrigin);
    res.setHeader('Access-Control-Allow-Methods', 'POST, OPTIONS');
    res.setHeader('Access-Control-Allow-Headers', 'content-type, x-namespace, authorization');
    if (req.method === 'OPTIONS') return void res.writeHead(204).end();
    const op = req.url === '/decode' ? 'decode' : req.url === '/encode' ? 'encode' : undefined;
    if (req.method !== 'POST' || !op) return void res.writeHead(404).end();
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      void (async () => {
        try {
          const body = JSON.parse(Buffer.concat(chunks).toString()) as { payloads: JsonPayload[] };
          const out = await codec[op](body.payloads.map(fromJson));
          res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ payloads: out.map(toJson) }));
        } catch (err) {
          res.writeHead(400, { 'content-type': 'text/plain' }).end(`cannot ${op}: ${(err as Error).message}`);
        }
      })();
    });
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve(server));
  });
}
