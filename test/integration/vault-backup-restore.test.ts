import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { CreateBucketCommand, HeadObjectCommand, S3Client } from '@aws-sdk/client-s3';
import type { WorkflowFailedError } from '@temporalio/client';
import type { RestoreReport } from '../../lib/reports/restore';
import { parseConfig } from '../../lib/config/load';
import type { SecdrConfig } from '../../lib/config/schema';
import { MOTO_ENV } from '../../dev-stack/dr-stack';
import { startMoto, type MotoServer } from '../../dev-stack/moto';
import { startOpenBao, writeStaticSealKey, type OpenBaoNode } from '../../dev-stack/openbao';
import { initNode } from '../../dev-stack/openbao-setup';
import { startPostgres, type PostgresServer } from '../../dev-stack/postgres';
import { startTemporalDevServer, type TemporalDevServer } from '../../dev-stack/temporal';
import { seedSourceCluster, type SeededCredentials } from '../../dev-stack/vault-seed';
import { knownSecrets } from '../../lib/secret-registry';
import { vaultApi } from '../../lib/vault/client';
import { createStore } from '../../lib/storage/snapshot-store';
import { unsealCommand } from '../../scripts/commands/unseal';
import { snapshotCommand } from '../../scripts/commands/procedures';
import { statusCommand } from '../../scripts/commands/status';
import { vaultRestore } from '../../procedures/vault-restore';
import { vaultRestoreWorkflow } from '../../workflows';
import { restoreStatusQuery } from '../../workflows/vault-restore';
import type { SnapshotResult } from '../../workflows/vault-snapshot';
import { approle, startRestoreWorker, type RestoreRig } from '../harness/restore-worker';
import { tempDir } from '../harness/temp';

const mkdirp = (dir: string) => (mkdirSync(dir, { recursive: true }), dir);

describe('Vault backup and restore against real OpenBao, moto, PostgreSQL and Temporal', function () {
  this.timeout(300_000);
  const tmp = tempDir('vault-br');
  let temporal: TemporalDevServer;
  let moto: MotoServer;
  let pg: PostgresServer;
  const nodes: Record<string, OpenBaoNode> = {};
  let autoCreds: SeededCredentials;
  let shamirCreds: SeededCredentials;
  let shamirKeys: string[];
  let shamirRoot: string;
  let config: SecdrConfig;
  let rig: RestoreRig;
  const client = () => rig.client;
  const taskQueue = `vault-br-${randomUUID()}`;

  before(async () => {
    Object.assign(process.env, MOTO_ENV);
    const sealKey = writeStaticSealKey(join(tmp.dir, 'static.key'));
    [temporal, moto, pg] = await Promise.all([
      startTemporalDevServer({ dir: join(tmp.dir, 'temporal') }),
      startMoto(join(tmp.dir, 'moto')),
      startPostgres(join(tmp.dir, 'pg')),
    ]);
    const baoDir = join(tmp.dir, 'openbao');
    [nodes.source, nodes.drAuto, nodes.shamir, nodes.drShamir] = await Promise.all([
      startOpenBao({ dir: baoDir, nodeId: 'source', staticSealKeyFile: sealKey }),
      startOpenBao({ dir: baoDir, nodeId: 'dr-auto', staticSealKeyFile: sealKey }),
      startOpenBao({ dir: baoDir, nodeId: 'shamir' }),
      startOpenBao({ dir: baoDir, nodeId: 'dr-shamir' }),
    ]);
    const pgConn = { host: pg.host, port: pg.port, user: pg.superuser, password: pg.password };
    const auto = await initNode(nodes.source.address, 'auto');
    autoCreds = await seedSourceCluster({ address: nodes.source.address, rootToken: auto.rootToken, credsDir: mkdirp(join(tmp.dir, 'creds-auto')), postgres: pgConn });
    const shamir = await initNode(nodes.shamir.address, 'shamir', { shares: 3, threshold: 2 });
    shamirKeys = shamir.keys;
    shamirRoot = shamir.rootToken;
    shamirCreds = await seedSourceCluster({ address: nodes.shamir.address, rootToken: shamir.rootToken, credsDir: mkdirp(join(tmp.dir, 'creds-shamir')) });

    // A token whose policy lacks the raft snapshot capability.
    const weakPolicy = 'path "secret/data/secdr/canary" { capabilities = ["create", "update"] }';
    const rootApi = vaultApi(nodes.source.address, { token: auto.rootToken });
    await rootApi.addPolicy({ name: 'secdr-snapshot-weak', rules: weakPolicy });
    const weak = await rootApi.tokenCreate({ policies: ['secdr-snapshot-weak'], ttl: '1h' });
    writeFileSync(join(tmp.dir, 'weak-token'), weak.auth.client_token, { mode: 0o600 });

    const s3 = new S3Client({ endpoint: moto.endpoint, region: 'us-east-1', forcePathStyle: true });
    await s3.send(new CreateBucketCommand({ Bucket: 'secdr-snapshots' }));
    writeFileSync(join(tmp.dir, 'codec.key'), Buffer.alloc(32, 7).toString('base64'));
    config = parseConfig(
      {
        temporal: { taskQueue },
        clusters: [
          { name: 'src', nodes: [nodes.source.address], auth: approle(autoCreds.snapshot), stagingDir: join(tmp.dir, 'staging-src') },
          { name: 'shm', nodes: [nodes.shamir.address], auth: approle(shamirCreds.snapshot), stagingDir: join(tmp.dir, 'staging-shm') },
          { name: 'weak', nodes: [nodes.source.address], auth: { method: 'token', token: { file: join(tmp.dir, 'weak-token') } }, stagingDir: join(tmp.dir, 'staging-weak') },
        ],
        storage: [
          { name: 's3', type: 's3', bucket: 'secdr-snapshots', region: 'us-east-1', endpoint: moto.endpoint, forcePathStyle: true, kmsKeyId: 'arn:aws:kms:us-east-1:000000000000:key/secdr-test' },
          { name: 'local', type: 'local', dir: join(tmp.dir, 'store') },
        ],
        restore: {
          targets: [
            {
              name: 'dr-auto',
              address: nodes.drAuto.address,
              seal: 'auto',
              verifier: approle(autoCreds.verifier),
              // One-shot targets left serving as before (no restorer here): keep says so in the report.
              after: 'keep',
              database: { role: 'readonly', host: pg.host, port: pg.port, database: 'postgres' },
            },
            { name: 'dr-shamir', address: nodes.drShamir.address, seal: 'shamir', shamir: { shares: 3, threshold: 2 }, verifier: approle(shamirCreds.verifier), after: 'keep' },
            { name: 'initialised', address: nodes.source.address, seal: 'auto', verifier: approle(autoCreds.verifier), after: 'keep' },
          ],
        },
        reportsDir: join(tmp.dir, 'reports'),
        codec: { keyId: 't1', key: { file: join(tmp.dir, 'codec.key') } },
      },
      'integration config',
    );
    rig = await startRestoreWorker(temporal.address, config);
  });

  after(async () => {
    await rig?.close();
    await Promise.all([temporal, moto, pg, ...Object.values(nodes)].filter(Boolean).map((s) => s.process.stop()));
    tmp.cleanup();
  });

  const snapshot = (cluster: string, storages?: string[]) => rig.snapshot({ cluster, storages });

  let autoSnapshot: SnapshotResult;

  it('takes a verified snapshot with the least-privilege AppRole and stores it in S3 (SSE-KMS, read back) and locally', async () => {
    autoSnapshot = await snapshot('src');
    assert.ok(autoSnapshot.raftIndex > 0);
    assert.ok(autoSnapshot.bytes > 1000);
    assert.deepEqual(autoSnapshot.uploads.map((u) => u.storage), ['s3', 'local']);
    const listed = await createStore(config.storage[0]).list('src');
    assert.equal(listed.length, 1);
    assert.equal(listed[0].key, `vault-snapshots/src/${autoSnapshot.key}`);
    assert.equal(listed[0].sha256, autoSnapshot.sha256);
    assert.equal(listed[0].canaryNonce, autoSnapshot.canaryNonce);
    const s3 = new S3Client({ endpoint: moto.endpoint, region: 'us-east-1', forcePathStyle: true });
    const head = await s3.send(new HeadObjectCommand({ Bucket: 'secdr-snapshots', Key: listed[0].key, ChecksumMode: 'ENABLED' }));
    assert.equal(head.ServerSideEncryption, 'aws:kms');
    assert.equal(head.SSEKMSKeyId, 'arn:aws:kms:us-east-1:000000000000:key/secdr-test');
    assert.equal(head.ContentLength, autoSnapshot.bytes);
    assert.equal(head.Metadata?.sha256, autoSnapshot.sha256);
    assert.equal((await createStore(config.storage[1]).list('src'))[0].sha256, autoSnapshot.sha256);
  });

  it('restores into a fresh auto-unseal OpenBao: canary reads back, a dynamic credential logs in to PostgreSQL', async () => {
    const report = await client().workflow.execute(vaultRestoreWorkflow, {
      taskQueue,
      workflowId: `restore-auto-${randomUUID()}`,
      args: [vaultRestore.input(config, { cluster: 'src', target: 'dr-auto', storage: 's3' })],
    });
    assert.equal(report.outcome, 'verified', report.error);
    assert.equal(report.checks.length, 2);
    assert.ok(report.checks.every((c) => c.ok));
    assert.match(report.checks[1].detail ?? '', /^v-approle-readonly-/);
    assert.ok(report.secretsReadableSeconds! < 300);
    assert.ok(report.slos.every((s) => s.met));
    assert.ok(report.recoveryPointSeconds! >= 0);
    assert.ok(existsSync(report.reportFiles!.markdown));
    assert.match(readFileSync(report.reportFiles!.markdown, 'utf8'), /secrets readable \| 300 s \| \d+\.\d s \| met/);
    // The restored cluster enforces the source's policies: an unknown token reads nothing.
    const probe = await fetch(`${nodes.drAuto.address}/v1/secret/data/apps/app-1`, { headers: { 'X-Vault-Token': 'not-a-token' } });
    assert.equal(probe.status, 403, 'the restored cluster enforces its policies');
  });

  it('refuses to restore into an already initialised cluster and changes nothing', async () => {
    const before = await vaultApi(nodes.source.address).status();
    await assert.rejects(
      client().workflow.execute(vaultRestoreWorkflow, {
        taskQueue,
        workflowId: `restore-init-${randomUUID()}`,
        args: [vaultRestore.input(config, { cluster: 'src', target: 'initialised', storage: 'local' })],
      }),
      (err: WorkflowFailedError) => /already initialised; secdr restores only into a fresh cluster/.test(JSON.stringify(err.cause?.message)),
    );
    assert.deepEqual(await vaultApi(nodes.source.address).status(), before);
  });

  it('`secdr snapshot --wait --json` and `secdr status` drive the same workflow from the CLI and exit 0', async () => {
    process.env.TEMPORAL_ADDRESS = temporal.address;
    const out: string[] = [];
    const err: string[] = [];
    const [log, error] = [console.log, process.stderr.write.bind(process.stderr)];
    console.log = (m: string) => void out.push(m);
    process.stderr.write = ((m: string) => (err.push(String(m)), true)) as typeof process.stderr.write;
    let code: number;
    try {
      code = await snapshotCommand(config, 'src', { wait: true, json: true });
    } finally {
      console.log = log;
      process.stderr.write = error;
    }
    assert.equal(code, 0, err.join(''));
    const result = JSON.parse(out.join('\n')) as SnapshotResult;
    assert.equal(result.cluster, 'src');
    const started = err.join('').match(/started (vault-snapshot-src-\S+)/);
    assert.ok(started, err.join(''));
    console.log = (m: string) => void out.push(m);
    try {
      assert.equal(await statusCommand(client(), started[1], true), 0);
    } finally {
      console.log = log;
    }
    assert.equal((JSON.parse(out.at(-1)!) as { status: string }).status, 'COMPLETED');
  });

  it('names the policy and path when the snapshot credential lacks a capability', async () => {
    await assert.rejects(snapshot('weak', ['local']), (err: WorkflowFailedError) => {
      const cause = err.cause as (Error & { cause?: Error }) | undefined;
      const text = String(cause?.cause?.message ?? cause?.message);
      assert.match(text, /permission denied on sys\/storage\/raft\/snapshot; the secdr-snapshot policy must grant this path/);
      return true;
    });
  });

  it('restores a Shamir cluster and waits, visibly, until humans unseal it with the source keys', async () => {
    await snapshot('shm', ['local']);
    const handle = await client().workflow.start(vaultRestoreWorkflow, {
      taskQueue,
      workflowId: `restore-shamir-${randomUUID()}`,
      args: [{ ...vaultRestore.input(config, { cluster: 'shm', target: 'dr-shamir', storage: 'local' }), pollSeconds: 1 }],
    });
    let phase = '';
    for (let i = 0; i < 240 && !phase.startsWith('sealed'); i++) {
      phase = (await handle.query(restoreStatusQuery)).phase;
      if (phase.startsWith('failed')) break;
      if (!phase.startsWith('sealed')) await new Promise((r) => setTimeout(r, 500));
    }
    assert.equal(phase, 'sealed, waiting for unseal: 0 of 2 key shares');
    // An operator types two of the source's shares into `secdr unseal`: they go to Vault, not Temporal.
    const stdin = new PassThrough();
    stdin.end(`${shamirKeys[0]}\n${shamirKeys[1]}\n`);
    const output = new PassThrough();
    const code = await unsealCommand(nodes.drShamir.address, { input: stdin, output, nudge: () => handle.signal('unsealProgress') });
    assert.equal(code, 0, `secdr unseal said: ${output.read()?.toString()}`);
    const report = (await handle.result()) as RestoreReport;
    assert.equal(report.outcome, 'verified', report.error);
    // The root secret scan (test/harness/secret-scan.ts) decodes every history after this test and fails on these.
    for (const k of [...shamirKeys, shamirRoot]) assert.ok(knownSecrets().has(k), 'the secret scan knows every share and the root token');
  });
});
