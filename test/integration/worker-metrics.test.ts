import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { stringify } from 'yaml';
import { requireBinary } from '../../dev-stack/paths';
import { freePort } from '../../dev-stack/ports';
import { startPrometheus, type HttpServer } from '../../dev-stack/prometheus';
import { ManagedProcess } from '../../dev-stack/supervisor';
import { startTemporalDevServer, type TemporalDevServer } from '../../dev-stack/temporal';
import { waitFor } from '../../dev-stack/wait';
import { snapshotLastSuccess } from '../../lib/metrics';
import { startMetricsServer, type MetricsServer } from '../../lib/metrics-server';
import { catalogEntry } from '../../lib/storage/catalog';
import { promQuery, writePrometheusConfig } from '../harness/alerting';
import { tempDir } from '../harness/temp';

const repo = resolve(__dirname, '..', '..');

describe('worker metrics (real Prometheus, real `secdr worker`)', function () {
  this.timeout(180_000);
  const tmp = tempDir('worker-metrics');

  after(() => tmp.cleanup());

  describe('the metrics server', () => {
    let metrics: MetricsServer | undefined;
    let prometheus: HttpServer | undefined;
    after(async () => {
      await prometheus?.process.stop();
      await metrics?.close();
    });

    it('is scraped by a real Prometheus, which then answers with the gauge value', async () => {
      metrics = await startMetricsServer('127.0.0.1', 0);
      const takenAt = 1_795_658_400; // 2026-11-26T02:00:00Z
      snapshotLastSuccess.set({ cluster: 'x' }, takenAt);

      const dir = join(tmp.dir, 'prometheus');
      mkdirSync(dir, { recursive: true });
      const config = writePrometheusConfig(dir, {
        intervalSeconds: 1,
        scrapeConfigs: [{ job_name: 'secdr-worker', static_configs: [{ targets: [`127.0.0.1:${metrics.port}`] }] }],
      });
      prometheus = await startPrometheus(dir, config);

      const sample = await waitFor(
        'Prometheus to have scraped secdr_snapshot_last_success_timestamp_seconds{cluster="x"}',
        async () => (await promQuery(prometheus!.url, 'secdr_snapshot_last_success_timestamp_seconds{cluster="x"}'))[0],
        { timeoutMs: 60_000, intervalMs: 500 },
      );
      assert.equal(Number(sample.value[1]), takenAt);
      assert.equal(sample.metric.job, 'secdr-worker', 'the rules select on job="secdr-worker"');
      const up = await promQuery(prometheus.url, 'up{job="secdr-worker"}');
      assert.equal(up[0]?.value[1], '1');
    });

    it('serves only GET /metrics and /-/healthy', async () => {
      metrics ??= await startMetricsServer('127.0.0.1', 0);
      assert.equal((await fetch(`${metrics.url}/-/healthy`)).status, 200);
      assert.equal((await fetch(`${metrics.url}/nope`)).status, 404);
      assert.equal((await fetch(`${metrics.url}/metrics`, { method: 'POST' })).status, 405);
      const res = await fetch(`${metrics.url}/metrics`);
      assert.match(res.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
      assert.match(
        await res.text(),
        /^secdr_worker_process_cpu_seconds_total /m,
        'process metrics under the secdr_worker_ prefix',
      );
    });
  });

  describe('`secdr worker`', () => {
    let temporal: TemporalDevServer | undefined;
    let worker: ManagedProcess | undefined;
    after(async () => {
      await worker?.stop();
      await temporal?.process.stop();
    });

    it('serves secdr gauges initialised from the snapshot catalog, plus the Temporal SDK metrics, on one endpoint', async () => {
      const dir = join(tmp.dir, 'worker');
      mkdirSync(dir, { recursive: true });
      temporal = await startTemporalDevServer({ dir: join(dir, 'temporal') });

      // Two storages; the newest snapshot of cluster "alpha" is in the second one. "beta" has none.
      const stores = [join(dir, 'store-a'), join(dir, 'store-b')];
      const entry = (store: string, stamp: string, takenAt: string) => {
        const name = `vault-alpha-${stamp}.snap`;
        mkdirSync(join(store, 'alpha', 'catalog'), { recursive: true });
        writeFileSync(
          join(store, 'alpha', 'catalog', `${name}.json`),
          catalogEntry({
            key: `alpha/${name}`,
            cluster: 'alpha',
            sha256: 'ab'.repeat(32),
            bytes: 1,
            raftIndex: 1,
            raftTerm: 1,
            takenAt,
            verifiedAt: takenAt,
            storage: 'x',
          }),
        );
      };
      entry(stores[0], '20261124-020000', '2026-11-24T02:00:00.000Z');
      entry(stores[1], '20261125-020000', '2026-11-25T02:00:00.000Z');

      const keyFile = join(dir, 'codec.key');
      writeFileSync(keyFile, Buffer.alloc(32, 7).toString('base64'), { mode: 0o600 });
      const port = await freePort();
      const configFile = join(dir, 'secdr.yaml');
      writeFileSync(
        configFile,
        stringify({
          temporal: { taskQueue: `metrics-${Date.now()}` },
          clusters: ['alpha', 'beta'].map((name) => ({
            name,
            nodes: ['http://127.0.0.1:1'],
            auth: { method: 'token', token: { env: 'UNUSED_TOKEN' } },
          })),
          storage: [
            { name: 'a', type: 'local', dir: stores[0] },
            { name: 'b', type: 'local', dir: stores[1] },
          ],
          reportsDir: join(dir, 'reports'),
          metrics: { host: '127.0.0.1', port },
          codec: { keyId: 'test-1', key: { file: keyFile } },
        }),
      );
      worker = new ManagedProcess({
        name: 'secdr worker',
        command: process.execPath,
        // tsx as a loader inside this one process, so SIGTERM reaches the worker itself rather than
        // going through the tsx CLI's relay to a child (which SIGKILLs a child slow to acknowledge it).
        args: ['--import', 'tsx', join(repo, 'scripts', 'secdr.ts'), '--config', configFile, 'worker'],
        env: { ...process.env, TEMPORAL_ADDRESS: temporal.address, TEMPORAL_NAMESPACE: 'default' },
        cwd: repo,
        logFile: join(dir, 'worker.log'),
      }).start();

      const url = `http://127.0.0.1:${port}/metrics`;
      // The SDK's worker metrics (labelled with the task queue) appear once the worker polls.
      const text = await waitFor(
        `secdr worker metrics at ${url}`,
        async () => {
          worker!.assertAlive();
          const body = await (await fetch(url, { signal: AbortSignal.timeout(3000) })).text();
          return /^temporal_\w+\{[^}]*task_queue="metrics-/m.test(body) ? body : undefined;
        },
        { timeoutMs: 90_000, intervalMs: 500 },
      );
      const value = (line: RegExp) => Number(text.match(line)?.[1]);
      assert.equal(
        value(/^secdr_snapshot_last_success_timestamp_seconds\{cluster="alpha"\} (\S+)$/m),
        Date.parse('2026-11-25T02:00:00Z') / 1000,
        'newest takenAt across both storages',
      );
      assert.equal(
        value(/^secdr_snapshot_last_success_timestamp_seconds\{cluster="beta"\} (\S+)$/m),
        0,
        'never snapshotted reads as 0, not absent',
      );
      assert.equal(value(/^secdr_restore_last_verified_timestamp_seconds\{cluster="alpha"\} (\S+)$/m), 0);
      assert.equal(value(/^secdr_drill_last_success_timestamp_seconds\{drill="quarterly"\} (\S+)$/m), 0);
      assert.equal(value(/^secdr_worker_runtime_metrics_up (\S+)$/m), 1);
      // Every metric family is declared once, and Prometheus' own parser accepts the concatenation
      // (promtool exits 1 on a parse error, 3 on style lint such as counters without _total).
      const types = [...text.matchAll(/^# TYPE (\S+) /gm)].map((m) => m[1]);
      assert.equal(new Set(types).size, types.length, 'no duplicate metric families');
      const lint = spawnSync(requireBinary('promtool'), ['check', 'metrics'], { input: text, encoding: 'utf8' });
      assert.doesNotMatch(`${lint.stdout}${lint.stderr}`, /parsing error/);
      assert.notEqual(lint.status, 1, `promtool check metrics: ${lint.stderr}`);

      await worker.stop(30_000);
      await waitFor('a clean exit on SIGTERM', async () => /--- exit code=0/.test(worker!.tail()), {
        timeoutMs: 5000,
      }).catch(() => {
        throw new Error(`secdr worker did not exit cleanly; log:\n${worker!.tail(15)}`);
      });
      await assert.rejects(fetch(url, { signal: AbortSignal.timeout(2000) }), 'the endpoint closes with the worker');
    });
  });
});
