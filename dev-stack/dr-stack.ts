import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { Client, Connection } from '@temporalio/client';
import { fillSecrets } from '../bench/fill';
import { parseConfig } from '../lib/config/load';
import type { SecdrConfig } from '../lib/config/schema';
import { startMoto, type MotoServer } from './moto';
import { startOpenBao, writeStaticSealKey, type OpenBaoNode } from './openbao';
import { initNode } from './openbao-setup';
import { startPostgres, type PostgresServer } from './postgres';
import { startTemporalDevServer, type TemporalDevServer } from './temporal';
import { seedSourceCluster } from './vault-seed';
import { dataConverterFor } from '../lib/temporal/connect';

/** moto takes any credentials; the worker processes get these in their environment. */
export const MOTO_ENV = { AWS_ACCESS_KEY_ID: 'test', AWS_SECRET_ACCESS_KEY: 'test', AWS_REGION: 'us-east-1' };

/**
 * The real servers a snapshot and a restore need, for tests that run `secdr worker`
 * processes and for the quarterly demo (through drill-stack.ts): a Temporal dev server, moto (S3 + KMS), PostgreSQL, an OpenBao source with the
 * static seal, seeded as a deployment would be (least-privilege AppRoles), and `targets`
 * fresh OpenBao DR targets sharing its seal key (auto-unseal), named dr-1, dr-2, …: a
 * restore goes into a fresh target only, and seals it afterwards with the seeded restorer AppRole.
 */
export interface DrStack {
  temporal: TemporalDevServer;
  moto: MotoServer;
  pg: PostgresServer;
  source: OpenBaoNode;
  targets: OpenBaoNode[];
  /** The config as YAML would hold it: worker-process.ts sets stagingDir and metrics.port per host. */
  raw: Record<string, unknown>;
  config: SecdrConfig;
  client: Client;
  taskQueue: string;
  /** Restore targets not yet used, in order; `nextTarget()` takes one. */
  nextTarget(): string;
  stop(): Promise<void>;
}

export interface DrStackOptions {
  dir: string;
  targets: number;
  taskQueue: string;
  /** MiB of random secrets written into the source, so streams last long enough to be cut. Default 0. */
  fillMiB?: number;
  /** Extra `temporal server start-dev` flags (dynamic config). */
  temporalArgs?: string[];
}

export async function startDrStack(opts: DrStackOptions): Promise<DrStack> {
  Object.assign(process.env, MOTO_ENV);
  const sealKey = writeStaticSealKey(join(opts.dir, 'static.key'));
  const baoDir = join(opts.dir, 'openbao');
  const [temporal, moto, pg, source, ...targets] = await Promise.all([
    startTemporalDevServer({ dir: join(opts.dir, 'temporal'), extraArgs: opts.temporalArgs }),
    startMoto(join(opts.dir, 'moto')),
    startPostgres(join(opts.dir, 'pg')),
    startOpenBao({ dir: baoDir, nodeId: 'source', staticSealKeyFile: sealKey }),
    ...Array.from({ length: opts.targets }, (_, i) => startOpenBao({ dir: baoDir, nodeId: `dr-${i + 1}`, staticSealKeyFile: sealKey })),
  ]);
  const init = await initNode(source.address, 'auto');
  const credsDir = join(opts.dir, 'creds');
  mkdirSync(credsDir, { recursive: true });
  const seeded = await seedSourceCluster({
    address: source.address,
    rootToken: init.rootToken,
    credsDir,
    postgres: { host: pg.host, port: pg.port, user: pg.superuser, password: pg.password },
  });
  if (opts.fillMiB) await fillSecrets(source.address, init.rootToken, 0, Math.ceil(opts.fillMiB * 2), () => undefined);
  const s3 = new S3Client({ endpoint: moto.endpoint, region: 'us-east-1', forcePathStyle: true });
  await s3.send(new CreateBucketCommand({ Bucket: 'secdr-snapshots' }));
  s3.destroy();
  writeFileSync(join(credsDir, 'codec.key'), Buffer.alloc(32, 5).toString('base64'), { mode: 0o600 });
  const approle = (c: { roleIdFile: string; secretIdFile: string }) => ({ method: 'approle', roleId: { file: c.roleIdFile }, secretId: { file: c.secretIdFile } });
  const raw: Record<string, unknown> = {
    temporal: { taskQueue: opts.taskQueue },
    // No local retention: a snapshot leaves nothing in staging, so an empty staging directory afterwards means no leftovers.
    clusters: [{ name: 'src', nodes: [source.address], auth: approle(seeded.snapshot), localRetentionDays: 0, stagingDir: join(opts.dir, 'staging') }],
    storage: [{ name: 's3', type: 's3', bucket: 'secdr-snapshots', region: 'us-east-1', endpoint: moto.endpoint, forcePathStyle: true, kmsKeyId: 'arn:aws:kms:us-east-1:000000000000:key/secdr-test' }],
    restore: {
      targets: targets.map((t) => ({
        name: t.nodeId,
        address: t.address,
        seal: 'auto',
        verifier: approle(seeded.verifier),
        // The restorer from the source's data seals each target after its restore (after: seal, the default):
        // no live copy of production stays up, and the crash tests can check that a killed run did the same.
        restorer: approle(seeded.restorer),
        database: { role: 'readonly', host: pg.host, port: pg.port, database: 'postgres' },
      })),
    },
    reportsDir: join(opts.dir, 'reports'),
    metrics: { port: 0 },
    codec: { keyId: 'e2e', key: { file: join(credsDir, 'codec.key') } },
  };
  const config = parseConfig(raw, 'dr stack config');
  const client = new Client({ connection: await Connection.connect({ address: temporal.address }), dataConverter: dataConverterFor(config) });
  let used = 0;
  return {
    temporal,
    moto,
    pg,
    source,
    targets,
    raw,
    config,
    client,
    taskQueue: opts.taskQueue,
    nextTarget: () => {
      if (used >= targets.length) throw new Error(`all ${targets.length} fresh restore targets are used; start the stack with more`);
      return targets[used++].nodeId;
    },
    stop: async () => {
      await client.connection.close().catch(() => undefined);
      await Promise.all([temporal, moto, pg, source, ...targets].map((s) => s.process.stop()));
    },
  };
}
