import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { defaultPayloadConverter } from '@temporalio/common';
import { AesGcmCodec, parseCodecKey } from '../../../lib/temporal/codec';

describe('AES-256-GCM payload codec', () => {
  const k1 = randomBytes(32);
  const k2 = randomBytes(32);

  it('round-trips a payload and hides its plaintext, naming the key id in metadata', async () => {
    const codec = new AesGcmCodec(new Map([['k1', k1]]), 'k1');
    const payload = defaultPayloadConverter.toPayload({ token: 'do-not-leak' });
    const [enc] = await codec.encode([payload]);
    assert.equal(Buffer.from(enc.metadata!['encryption-key-id']).toString(), 'k1');
    assert.equal(Buffer.from(enc.data!).includes('do-not-leak'), false);
    const [dec] = await codec.decode([enc]);
    assert.deepEqual(defaultPayloadConverter.fromPayload(dec), { token: 'do-not-leak' });
  });

  it('decodes payloads written with an older key after rotation', async () => {
    const old = new AesGcmCodec(new Map([['k1', k1]]), 'k1');
    const rotated = new AesGcmCodec(new Map([['k1', k1], ['k2', k2]]), 'k2');
    const [enc] = await old.encode([defaultPayloadConverter.toPayload('x')]);
    const [dec] = await rotated.decode([enc]);
    assert.equal(defaultPayloadConverter.fromPayload(dec), 'x');
  });

  it('rejects a tampered ciphertext', async () => {
    const codec = new AesGcmCodec(new Map([['k1', k1]]), 'k1');
    const [enc] = await codec.encode([defaultPayloadConverter.toPayload('x')]);
    const data = Buffer.from(enc.data!);
    data[20] ^= 1;
    await assert.rejects(codec.decode([{ ...enc, data }]));
  });

  it('says which key is missing when decoding with the wrong key set', async () => {
    const [enc] = await new AesGcmCodec(new Map([['k1', k1]]), 'k1').encode([defaultPayloadConverter.toPayload('x')]);
    await assert.rejects(new AesGcmCodec(new Map([['k2', k2]]), 'k2').decode([enc]), /codec key "k1"/);
  });

  it('accepts raw, hex and base64 keys and refuses a short one', () => {
    assert.equal(parseCodecKey(k1, 'k').length, 32);
    assert.deepEqual(parseCodecKey(k1.toString('hex'), 'k'), k1);
    assert.deepEqual(parseCodecKey(k1.toString('base64'), 'k'), k1);
    assert.throws(() => parseCodecKey('short', 'codec.key'), /codec.key: codec key must be 32 bytes/);
  });
});
