import { Client, Connection } from '@temporalio/client';
import type { DataConverter } from '@temporalio/common';
import { loadClientConnectConfig } from '@temporalio/envconfig';
import { NativeConnection } from '@temporalio/worker';
import { readSecret } from '../config/load';
import type { SecdrConfig } from '../config/schema';
import { AesGcmCodec, parseCodecKey } from './codec';

/** The one data converter clients and workers share: every payload passes the encrypting codec. */
export function dataConverterFor(config: Pick<SecdrConfig, 'codec'>): DataConverter {
  const key = parseCodecKey(readSecret(config.codec.key, 'codec.key'), 'codec.key');
  return { payloadCodecs: [new AesGcmCodec(new Map([[config.codec.keyId, key]]), config.codec.keyId)] };
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
