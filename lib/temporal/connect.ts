import { Client, Connection } from '@temporalio/client';
import type { DataConverter } from '@temporalio/common';
import { loadClientConnectConfig } from '@temporalio/envconfig';
import { NativeConnection } from '@temporalio/worker';
import { readSecret } from '../config/load';
import type { SecdrConfig } from '../config/schema';
import { noteCodecKey } from '../secret-registry';
import { AesGcmCodec, parseCodecKey } from './codec';
import { invalidInput } from '../failure-types';

/**
 * The codec from the config: encodes with the current key (`codec.keyId`/`codec.key`) and
 * decodes with it or any of `codec.previousKeys`, so history and Schedules written before a
 * rotation stay readable.
 */
export function codecFor(config: Pick<SecdrConfig, 'codec'>): AesGcmCodec {
  const keys = new Map<string, Buffer>();
  const load = (keyId: string, ref: Parameters<typeof readSecret>[0], field: string) => {
    if (keys.has(keyId)) throw invalidInput(`${field}: codec key id "${keyId}" is used twice; give every key its own id`);
    const key = parseCodecKey(readSecret(ref, field), field);
    noteCodecKey(keyId, key);
    keys.set(keyId, key);
  };
  load(config.codec.keyId, config.codec.key, 'codec.key');
  (config.codec.previousKeys ?? []).forEach((k, i) => load(k.keyId, k.key, `codec.previousKeys[${i}].key`));
  return new AesGcmCodec(keys, config.codec.keyId);
}

/**
 * The one data converter clients and workers share: every payload passes the encrypting
 * codec, and failure messages and stack traces are payloads too (failure-converter.ts).
 */
export function dataConverterFor(config: Pick<SecdrConfig, 'codec'>): DataConverter {
  return { payloadCodecs: [codecFor(config)], failureConverterPath: require.resolve('./failure-converter') };
}

/**
 * Connection settings from Temporal's standard environment configuration
 * (TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, TEMPORAL_API_KEY, TEMPORAL_TLS_*, and
 * profiles in temporal.toml via TEMPORAL_PROFILE), so the same binary talks to the
 * dev server, a self-hosted cluster or Temporal Cloud.
 */
export function connectConfig(): { options: ReturnType<typeof loadClientConnectConfig>['connectionOptions']; namespace: string } {
  const cfg = loadClientConnectConfig({ profile: process.env.TEMPORAL_PROFILE });
  return {
    options: { address: '127.0.0.1:7233', ...cfg.connectionOptions },
    namespace: cfg.namespace ?? 'default',
  };
}

export async function connectClient(config: Pick<SecdrConfig, 'codec'>): Promise<Client> {
  const { options, namespace } = connectConfig();
  const connection = await Connection.connect(options);
  return new Client({ connection, namespace, dataConverter: dataConverterFor(config) });
}

export async function connectWorkerConnection(): Promise<{ connection: NativeConnection; namespace: string }> {
  const { options, namespace } = connectConfig();
  return { connection: await NativeConnection.connect(options), namespace };
}
