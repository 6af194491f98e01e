import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { defaultPayloadConverter } from '@temporalio/common';
import { AesGcmCodec } from '../../../lib/temporal/codec';
import { startCodecServer } from '../../../lib/temporal/codec-server';

describe('codec server (real HTTP on loopback)', () => {
  const codec = new AesGcmCodec(new Map([['k1', randomBytes(32)]]), 'k1');
  const token = randomBytes(24).toString('base64url');
  const ui = 'http://127.0.0.1:8233';
  let server: Server;
  let base: string;
  let encrypted: { payloads: unknown[] };

  before(async () => {
    server = await startCodecServer({ codec, host: '127.0.0.1', port: 0, token, allowedOrigin: ui });
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const [p] = await codec.encode([defaultPayloadConverter.toPayload({ nonce: 'n-1' })]);
    encrypted = {
      payloads: [
        {
          metadata: Object.fromEntries(Object.entries(p.metadata!).map(([k, v]) => [k, Buffer.from(v).toString('base64')])),
          data: Buffer.from(p.data!).toString('base64'),
        },
      ],
    };
  });
  after(() => new Promise<void>((ok) => server.close(() => ok())));

  const decode = (path: string, headers: Record<string, string> = {}) =>
    fetch(`${base}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(encrypted) });
  const plain = async (res: Response) => {
    const body = (await res.json()) as { payloads: { data: string }[] };
    return JSON.parse(Buffer.from(body.payloads[0].data, 'base64').toString()) as unknown;
  };

  it('refuses to decode without the token, or with a wrong one', async () => {
    for (const res of [await decode('/decode'), await decode('/decode', { authorization: 'Bearer wrong-token-wrong-token' }), await decode('/not-the-token/decode')]) {
      assert.equal(res.status, 401);
      assert.match(await res.text(), /missing or wrong token/);
    }
  });

  it('decodes with the bearer token, and with the token as the first path segment (the Web UI form)', async () => {
    const viaHeader = await decode('/decode', { authorization: `Bearer ${token}` });
    assert.equal(viaHeader.status, 200);
    assert.deepEqual(await plain(viaHeader), { nonce: 'n-1' });
    const viaPath = await decode(`/${token}/decode`, { origin: ui });
    assert.equal(viaPath.status, 200);
    assert.equal(viaPath.headers.get('access-control-allow-origin'), ui);
    assert.deepEqual(await plain(viaPath), { nonce: 'n-1' });
  });

  it('answers browsers only from the configured UI origin, preflight included', async () => {
    const evil = await decode('/decode', { authorization: `Bearer ${token}`, origin: 'http://evil.example' });
    assert.equal(evil.status, 403);
    assert.equal(evil.headers.get('access-control-allow-origin'), null);
    const preflight = await fetch(`${base}/decode`, { method: 'OPTIONS', headers: { origin: 'http://evil.example', 'access-control-request-method': 'POST' } });
    assert.equal(preflight.status, 403);
    const ok = await fetch(`${base}/decode`, { method: 'OPTIONS', headers: { origin: ui, 'access-control-request-method': 'POST' } });
    assert.equal(ok.status, 204);
    assert.equal(ok.headers.get('access-control-allow-origin'), ui);
  });

  it('refuses to start with a short token', () => {
    assert.throws(() => startCodecServer({ codec, host: '127.0.0.1', port: 0, token: 'short', allowedOrigin: ui }), /codec.server.token: use at least 16/);
  });
});
