import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CreateBucketCommand, GetObjectCommand, HeadObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { createHash } from 'node:crypto';
import { Client as PgClient } from 'pg';
import { startOpenBao, writeStaticSealKey, type OpenBaoNode } from '../../dev-stack/openbao';
import { enableKv, initNode, waitForActive } from '../../dev-stack/openbao-setup';
import { startMoto } from '../../dev-stack/moto';
import { startPostgres } from '../../dev-stack/postgres';
import { startAlertmanager, startPrometheus } from '../../dev-stack/prometheus';
import { vaultApi } from '../../lib/vault/client';
import { findActiveNode, nodeHealth } from '../../lib/vault/health';
import { tempDir } from '../harness/temp';
import { waitFor } from '../../dev-stack/wait';

describe('real servers answer through the project’s own clients', function () {
  const tmp = tempDir('servers');
  after(() => tmp.cleanup());

  describe('OpenBao', () => {
    const nodes: OpenBaoNode[] = [];
    afterEach(async () => {
      await Promise.all(nodes.splice(0).map((n) => n.process.stop()));
    });

    it('initialises and unseals a Shamir node, then writes and reads kv v2', async () => {
      const node = await startOpenBao({ dir: join(tmp.dir, 'shamir'), nodeId: 'shamir-0' });
      nodes.push(node);
      assert.equal((await nodeHealth(node.address)).state, 'uninitialized');
      const { rootToken, keys } = await initNode(node.address, 'shamir', { shares: 3, threshold: 2 });
      assert.equal(keys.length, 3);
      await enableKv(node.address, rootToken);
      const api = vaultApi(node.address, { token: rootToken });
      await api.write('secret/data/smoke', { data: { answer: '42' } });
      const read = await api.read('secret/data/smoke');
      assert.equal(read.data.data.answer, '42');
    });

    it('auto-unseals with the static seal after a restart', async () => {
      const dir = join(tmp.dir, 'static');
      const key = writeStaticSealKey(join(tmp.dir, 'static.key'));
      let node = await startOpenBao({ dir, nodeId: 'static-0', staticSealKeyFile: key });
      nodes.push(node);
      await initNode(node.address, 'auto');
      await node.process.stop();
      node = await startOpenBao({ dir, nodeId: 'static-0', staticSealKeyFile: key });
      nodes.push(node);
      await waitForActive(node.address);
      assert.equal((await nodeHealth(node.address)).sealed, false);
    });

    it('forms a 3-node raft cluster, finds its leader among standbys, and streams a gzip snapshot from it', async function () {
      const dir = join(tmp.dir, 'raft3');
      const key = writeStaticSealKey(join(tmp.dir, 'raft3.key'));
      const leader = await startOpenBao({ dir, nodeId: 'node-0', staticSealKeyFile: key });
      nodes.push(leader);
      const { rootToken } = await initNode(leader.address, 'auto');
      for (const id of ['node-1', 'node-2']) {
        nodes.push(await startOpenBao({ dir, nodeId: id, staticSealKeyFile: key, joinAddress: leader.address }));
      }
      const api = vaultApi(leader.address, { token: rootToken });
      for (let i = 0; i < 150; i++) {
        const peers = (await api.read('sys/storage/raft/configuration')).data.config.servers;
        if (peers.length === 3) break;
        await new Promise((r) => setTimeout(r, 200));
      }
      const peers = (await api.read('sys/storage/raft/configuration')).data.config.servers;
      assert.equal(peers.length, 3, 'three raft peers');
      const standby = nodes[1];
      // A joined node auto-unseals through the shared static seal, then serves as standby.
      await waitFor('node-1 standby', async () => (await nodeHealth(standby.address)).state === 'standby');
      assert.equal(await findActiveNode('raft3', nodes.map((n) => n.address)), leader.address);

      const res = await fetch(`${leader.address}/v1/sys/storage/raft/snapshot`, { headers: { 'X-Vault-Token': rootToken } });
      assert.equal(res.status, 200);
      const body = Buffer.from(await res.arrayBuffer());
      assert.deepEqual([...body.subarray(0, 2)], [0x1f, 0x8b], 'gzip magic bytes');
    });
  });

  it('S3 (moto) stores an object with SSE-KMS and a SHA-256 checksum and reads it back', async () => {
    const moto = await startMoto(join(tmp.dir, 'moto'));
    try {
      const s3 = new S3Client({
        endpoint: moto.endpoint,
        region: 'us-east-1',
        forcePathStyle: true,
        credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
      });
      await s3.send(new CreateBucketCommand({ Bucket: 'smoke' }));
      const body = Buffer.from('snapshot bytes');
      const sha = createHash('sha256').update(body).digest('base64');
      await s3.send(
        new PutObjectCommand({
          Bucket: 'smoke',
          Key: 'a.snap',
          Body: body,
          ServerSideEncryption: 'aws:kms',
          SSEKMSKeyId: 'alias/secdr-test',
          ChecksumAlgorithm: 'SHA256',
          ChecksumSHA256: sha,
        }),
      );
      const head = await s3.send(new HeadObjectCommand({ Bucket: 'smoke', Key: 'a.snap', ChecksumMode: 'ENABLED' }));
      assert.equal(head.ServerSideEncryption, 'aws:kms');
      assert.match(head.SSEKMSKeyId ?? '', /secdr-test/);
      assert.equal(head.ChecksumSHA256, sha);
      const got = await s3.send(new GetObjectCommand({ Bucket: 'smoke', Key: 'a.snap' }));
      assert.equal(await got.Body?.transformToString(), 'snapshot bytes');
    } finally {
      await moto.process.stop();
    }
  });

  it('PostgreSQL accepts a password login and rejects a wrong password', async () => {
    const pg = await startPostgres(join(tmp.dir, 'pg'));
    try {
      const ok = new PgClient({ host: pg.host, port: pg.port, user: pg.superuser, password: pg.password, database: 'postgres' });
      await ok.connect();
      assert.equal((await ok.query('select 1 as one')).rows[0].one, 1);
      await ok.end();
      const bad = new PgClient({ host: pg.host, port: pg.port, user: pg.superuser, password: 'wrong', database: 'postgres' });
      await assert.rejects(bad.connect(), /password authentication failed/);
    } finally {
      await pg.process.stop();
    }
  });

  it('Prometheus and Alertmanager answer their health endpoints', async () => {
    const promCfg = join(tmp.dir, 'prometheus.yml');
    writeFileSync(promCfg, 'global:\n  scrape_interval: 15s\nscrape_configs: []\n');
    const amCfg = join(tmp.dir, 'alertmanager.yml');
    writeFileSync(amCfg, 'route:\n  receiver: none\nreceivers:\n  - name: none\n');
    const prom = await startPrometheus(join(tmp.dir, 'prom'), promCfg);
    const am = await startAlertmanager(join(tmp.dir, 'am'), amCfg);
    try {
      for (const url of [`${prom.url}/-/healthy`, `${am.url}/-/healthy`]) {
        const res = await fetch(url);
        assert.equal(res.status, 200, url);
      }
      const status = (await (await fetch(`${am.url}/api/v2/status`)).json()) as { versionInfo: { version: string } };
      assert.match(status.versionInfo.version, /^\d+\.\d+/);
    } finally {
      await Promise.all([prom.process.stop(), am.process.stop()]);
    }
  });
});
