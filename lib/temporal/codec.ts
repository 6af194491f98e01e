import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { METADATA_ENCODING_KEY, type Payload, type PayloadCodec } from '@temporalio/common';
import { temporal } from '@temporalio/proto';
import { invalidInput } from '../failure-types';

const ENCODING = 'binary/encrypted';
const KEY_ID = 'encryption-key-id';
const IV_BYTES = 12;
const TAG_BYTES = 16;

/**
 * AES-256-GCM payload codec: every payload (inputs, results, signals, errors'
 * details) is encrypted before it leaves the process, with the key id in the
 * payload metadata so keys can rotate: new payloads use `currentKeyId`, old ones
 * decode with whichever key their metadata names.
 */
export class AesGcmCodec implements PayloadCodec {
  constructor(
    private readonly keys: ReadonlyMap<string, Buffer>,
    private readonly currentKeyId: string,
  ) {
    for (const [id, key] of keys) {
      if (key.length !== 32) throw invalidInput(`codec key "${id}" must be 32 bytes (got ${key.length}); generate one with \`openssl rand -base64 32\``);
    }
    if (!keys.has(currentKeyId)) throw invalidInput(`codec key "${currentKeyId}" is not loaded`);
  }

  async encode(payloads: Payload[]): Promise<Payload[]> {
    const key = this.keys.get(this.currentKeyId)!;
    return payloads.map((payload) => {
      const plain = temporal.api.common.v1.Payload.encode(payload).finish();
      const iv = randomBytes(IV_BYTES);
      const cipher = createCipheriv('aes-256-gcm', key, iv);
      const data = Buffer.concat([iv, cipher.update(plain), cipher.final(), cipher.getAuthTag()]);
      return {
        metadata: {
          [METADATA_ENCODING_KEY]: Buffer.from(ENCODING),
          [KEY_ID]: Buffer.from(this.currentKeyId),
        },
        data,
      };
    });
  }

  async decode(payloads: Payload[]): Promise<Payload[]> {
    return payloads.map((payload) => {
      const encoding = payload.metadata?.[METADATA_ENCODING_KEY];
      if (!encoding || Buffer.from(encoding).toString() !== ENCODING) return payload;
      const keyId = Buffer.from(payload.metadata?.[KEY_ID] ?? []).toString();
      const key = this.keys.get(keyId);
      if (!key) throw invalidInput(`payload encrypted with codec key "${keyId}", which this process does not have; add it to codec keys`);
      const data = Buffer.from(payload.data ?? []);
      const iv = data.subarray(0, IV_BYTES);
      const tag = data.subarray(data.length - TAG_BYTES);
      const decipher = createDecipheriv('aes-256-gcm', key, iv);
      decipher.setAuthTag(tag);
      const plain = Buffer.concat([decipher.update(data.subarray(IV_BYTES, data.length - TAG_BYTES)), decipher.final()]);
      return temporal.api.common.v1.Payload.decode(plain);
    });
  }
}

/** Parses a key as given in a file or env var: 32 raw bytes, or base64/hex of them. */
export function parseCodecKey(raw: Buffer | string, what: string): Buffer {
  const buf = typeof raw === 'string' ? Buffer.from(raw) : raw;
  if (buf.length === 32) return buf;
  const text = buf.toString('utf8').trim();
  if (/^[0-9a-fA-F]{64}$/.test(text)) return Buffer.from(text, 'hex');
  const b64 = Buffer.from(text, 'base64');
  if (b64.length === 32) return b64;
  throw invalidInput(`${what}: codec key must be 32 bytes (raw, hex or base64); generate one with \`openssl rand -base64 32\``);
}
