import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Gauge } from 'prom-client';
import { bootstrapFreshnessGauges } from '../../lib/metrics-bootstrap';
import { drillLastSuccess, restoreLastVerified, snapshotLastSuccess } from '../../lib/metrics';
import { saveLastSuccess } from '../../lib/procedure-outcomes';
import { catalogEntry } from '../../lib/storage/catalog';
import { createStore, type SnapshotStore } from '../../lib/storage/snapshot-store';
import { testConfig } from '../harness/config';
import { tempDir } from '../harness/temp';

async function value(gauge: Gauge, labels: Record<string, string>): Promise<number | undefined> {
  const { values } = await gauge.get();
  return values.find((v) => Object.entries(labels).every(([k, x]) => v.labels[k] === x))?.value;
}

function writeEntry(store: string, cluster: string, takenAt: string): void {
  const stamp = takenAt.replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
  const name = `vault-${cluster}-${stamp}.snap`;
  mkdirSync(join(store, cluster, 'catalog'), { recursive: true });
  writeFileSync(
    join(store, cluster, 'catalog', `${name}.json`),
    catalogEntry({
      key: `${cluster}/${name}`,
      cluster,
      sha256: 'cd'.repeat(32),
      bytes: 1,
      raftIndex: 1,
      raftTerm: 1,
      takenAt,
      verifiedAt: takenAt,
      storage: 's',
    }),
  );
}

describe('freshness gauges at worker start-up', () => {
  const tmp = tempDir('metrics-bootstrap');
  after(() => tmp.cleanup());

  const cluster = (name: string) => ({
    name,
    nodes: ['http://127.0.0.1:1'],
    auth: { method: 'token', token: { env: 'UNUSED' } },
  });

  it('takes the newest takenAt across every storage, and 0 for a cluster never snapshotted', async () => {
    const a = join(tmp.dir, 'a1');
    const b = join(tmp.dir, 'b1');
    writeEntry(a, 'boot-one', '2026-11-20T02:00:00.000Z');
    writeEntry(b, 'boot-one', '2026-11-22T02:00:00.000Z');
    writeEntry(a, 'boot-one', '2026-11-21T02:00:00.000Z');
    const config = testConfig(tmp.dir, {
      clusters: [cluster('boot-one'), cluster('boot-none')],
      storage: [
        { name: 'a', type: 'local', dir: a },
        { name: 'b', type: 'local', dir: b },
      ],
      reportsDir: join(tmp.dir, 'no-reports'),
    });
    const r = await bootstrapFreshnessGauges(config, { warn: () => undefined });
    assert.deepEqual(r, {
      snapshots: { 'boot-one': Date.parse('2026-11-22T02:00:00Z') / 1000, 'boot-none': 0 },
      unknown: [],
    });
    assert.equal(await value(snapshotLastSuccess, { cluster: 'boot-one' }), Date.parse('2026-11-22T02:00:00Z') / 1000);
    assert.equal(await value(snapshotLastSuccess, { cluster: 'boot-none' }), 0);
    assert.equal(
      await value(restoreLastVerified, { cluster: 'boot-one' }),
      0,
      'no restore known: 0, so the alert reads it as stale, not absent',
    );
    assert.equal(await value(drillLastSuccess, { drill: 'quarterly' }), 0);
  });

  it('warns about a storage it cannot list and uses the others; leaves the gauge unset when none can be listed', async () => {
    const good = join(tmp.dir, 'good');
    writeEntry(good, 'boot-two', '2026-11-23T02:00:00.000Z');
    // A file where the catalog directory should be: listing fails (ENOTDIR), as an unreadable bucket would.
    const broken = join(tmp.dir, 'broken');
    mkdirSync(join(broken, 'boot-two'), { recursive: true });
    mkdirSync(join(broken, 'boot-three'), { recursive: true });
    writeFileSync(join(broken, 'boot-two', 'catalog'), 'not a directory');
    writeFileSync(join(broken, 'boot-three', 'catalog'), 'not a directory');
    const warnings: string[] = [];
    const config = testConfig(tmp.dir, {
      clusters: [cluster('boot-two'), cluster('boot-three')],
      storage: [
        { name: 'broken', type: 'local', dir: broken },
        { name: 'good', type: 'local', dir: good },
      ],
    });
    const r = await bootstrapFreshnessGauges(config, {
      warn: (m) => warnings.push(m),
      // boot-three: the good storage refuses too, so no storage can be listed for it.
      storeFor: (s) => {
        const store = createStore(s);
        if (s.name !== 'good') return store;
        const refusing: SnapshotStore = Object.create(store);
        refusing.list = (c: string) =>
          c === 'boot-three' ? Promise.reject(new Error('access denied')) : store.list(c);
        return refusing;
      },
    });
    assert.equal(r.snapshots['boot-two'], Date.parse('2026-11-23T02:00:00Z') / 1000);
    assert.deepEqual(r.unknown, ['boot-three']);
    assert.equal(await value(snapshotLastSuccess, { cluster: 'boot-three' }), undefined, 'unknown is not "never"');
    assert.ok(
      warnings.some((w) => /cluster boot-two in storage broken/.test(w)),
      warnings.join('\n'),
    );
    assert.ok(
      warnings.some((w) => /cluster boot-three in storage good \(access denied\)/.test(w)),
      warnings.join('\n'),
    );
  });

  it('never lowers a gauge an activity already raised, and reads verified restores from the reports', async () => {
    const reports = join(tmp.dir, 'reports');
    mkdirSync(reports, { recursive: true });
    const report = (cluster: string, outcome: string, finishedAt: string) =>
      writeFileSync(
        join(reports, `restore-${cluster}-${finishedAt.replace(/[:.]/g, '')}.json`),
        JSON.stringify({ cluster, outcome, finishedAt }),
      );
    report('boot-four', 'verified', '2026-11-19T04:10:00.000Z');
    report('boot-four', 'failed', '2026-11-26T04:10:00.000Z');
    writeFileSync(join(reports, 'restore-boot-four-partial.json'), '{"cluster": "boot-fo');
    snapshotLastSuccess.set({ cluster: 'boot-four' }, 2_000_000_000);
    const config = testConfig(tmp.dir, {
      clusters: [cluster('boot-four')],
      storage: [{ name: 'e', type: 'local', dir: join(tmp.dir, 'empty') }],
      reportsDir: reports,
    });
    await bootstrapFreshnessGauges(config, { warn: () => undefined });
    assert.equal(await value(snapshotLastSuccess, { cluster: 'boot-four' }), 2_000_000_000);
    assert.equal(
      await value(restoreLastVerified, { cluster: 'boot-four' }),
      Date.parse('2026-11-19T04:10:00Z') / 1000,
      'the newest verified one; failed restores are no evidence',
    );
  });

  it('restores restore and drill freshness from the last-success records another worker left in the storage', async () => {
    const storage = { name: 'rec', type: 'local' as const, dir: join(tmp.dir, 'records-store') };
    const config = testConfig(tmp.dir, { clusters: [cluster('boot-five')], storage: [storage], reportsDir: join(tmp.dir, 'no-reports') });
    await saveLastSuccess(config.storage, { procedure: 'vault-restore', cluster: 'boot-five', at: '2026-11-22T04:00:00.000Z', workflowId: 'w1' });
    await saveLastSuccess(config.storage, { procedure: 'log-failover', at: '2026-11-20T10:00:00.000Z', workflowId: 'w2' });
    // The gauges are process-wide and never lowered: a drill an earlier test ran in this process set them to now.
    drillLastSuccess.remove({ drill: 'log-failover' });
    restoreLastVerified.remove({ cluster: 'boot-five' });
    await bootstrapFreshnessGauges(config, { warn: () => undefined, drills: ['log-failover', 'never-run-drill'] });
    assert.equal(await value(restoreLastVerified, { cluster: 'boot-five' }), Date.parse('2026-11-22T04:00:00Z') / 1000);
    assert.equal(await value(drillLastSuccess, { drill: 'log-failover' }), Date.parse('2026-11-20T10:00:00Z') / 1000);
    assert.equal(await value(drillLastSuccess, { drill: 'never-run-drill' }), 0, 'a drill never run reads as never, not absent');
  });
});
