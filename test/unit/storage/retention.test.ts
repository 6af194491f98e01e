import assert from 'node:assert/strict';
import type { RetentionPolicy } from '../../../lib/config/schema';
import { FailureType } from '../../../lib/failure-types';
import { assertSafePlan, planLocalRetention, planRetention, type RetentionPlan } from '../../../lib/storage/retention';
import { snapshotKey, type SnapshotMeta } from '../../../lib/storage/snapshot-store';

const DAY = 86_400_000;
const PREFIX = 'vault-snapshots/';
// A Thursday, 03:00 UTC: an hour after the daily 02:00 snapshot.
const NOW = new Date('2026-11-26T03:00:00Z');
const GFS: RetentionPolicy = { keepLast: 3, daily: 7, weekly: 4, monthly: 12 };

function snap(takenAt: Date | string, cluster = 'prod'): SnapshotMeta {
  const at = typeof takenAt === 'string' ? new Date(takenAt) : takenAt;
  return {
    key: snapshotKey(cluster, at, PREFIX),
    cluster,
    sha256: '0'.repeat(64),
    bytes: 1,
    raftIndex: 1,
    raftTerm: 1,
    takenAt: at.toISOString(),
    verifiedAt: at.toISOString(),
    storage: 'test',
  };
}

/** One snapshot a day at 02:00 UTC, ending today (NOW's day), oldest first. */
function daily(count: number, cluster = 'prod'): SnapshotMeta[] {
  const today = Date.UTC(2026, 10, 26, 2);
  return Array.from({ length: count }, (_, i) => snap(new Date(today - (count - 1 - i) * DAY), cluster));
}

const dayOf = (key: string) => /-(\d{8})-\d{6}\.snap$/.exec(key)![1];
const keptDays = (plan: RetentionPlan) => plan.keep.map((k) => dayOf(k.key));
const reasonsOf = (plan: RetentionPlan, day: string) => plan.keep.find((k) => dayOf(k.key) === day)?.reasons ?? [];

/** Deterministic pseudo-random numbers (mulberry32), so a failing case can be replayed. */
function random(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function shuffle<T>(items: T[], rnd: () => number): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(rnd() * (i + 1));
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}

function isRefusal(err: unknown): boolean {
  return (err as { type?: string }).type === FailureType.RetentionRefused;
}

describe('snapshot retention (grandfather-father-son)', () => {
  it('keeps 7 days, 4 ISO weeks and 12 months out of 400 daily snapshots and deletes the other 380', () => {
    const snapshots = daily(400);
    const plan = planRetention(snapshots, GFS, NOW);
    assert.deepEqual(keptDays(plan), [
      // the last 7 days (they include keepLast 3 and the current week and month)
      '20261126', '20261125', '20261124', '20261123', '20261122', '20261121', '20261120',
      // newest of the ISO weeks 2026-W46 and W45 (W47's newest, the 22nd, is already kept)
      '20261115', '20261108',
      // newest of each earlier month back to December 2025 (12 months including November)
      '20261031', '20260930', '20260831', '20260731', '20260630', '20260531', '20260430', '20260331', '20260228', '20260131', '20251231',
    ]);
    assert.equal(plan.delete.length, 380);
    assert.equal(plan.keep.length + plan.delete.length, 400);
    assert.deepEqual(reasonsOf(plan, '20261126'), [
      'newest verified snapshot',
      'among the newest 3',
      'newest of day 2026-11-26',
      'newest of ISO week 2026-W48',
      'newest of month 2026-11',
    ]);
    assert.deepEqual(reasonsOf(plan, '20261115'), ['newest of ISO week 2026-W46']);
    assert.deepEqual(reasonsOf(plan, '20251231'), ['newest of month 2025-12']);
    assert.ok(plan.delete.every((d) => /not among the newest 3/.test(d.reason)));
  });

  it('keeps the newest snapshot of each day, not the first one taken that day', () => {
    const snapshots: SnapshotMeta[] = [];
    for (let d = 0; d < 10; d++) for (const h of [0, 6, 12, 18]) snapshots.push(snap(new Date(Date.UTC(2026, 10, 17 + d, h))));
    const plan = planRetention(snapshots, { keepLast: 1, daily: 7, weekly: 0, monthly: 0 }, new Date('2026-11-26T20:00:00Z'));
    assert.deepEqual(
      plan.keep.map((k) => k.key.slice(-20)),
      ['20261126-180000.snap', '20261125-180000.snap', '20261124-180000.snap', '20261123-180000.snap', '20261122-180000.snap', '20261121-180000.snap', '20261120-180000.snap'],
    );
    assert.equal(plan.delete.length, 33);
  });

  it('places ISO weeks across a year boundary (Monday 2024-12-30 is in 2025-W01)', () => {
    const plan = planRetention([snap('2024-12-29T02:00:00Z'), snap('2024-12-30T02:00:00Z')], { keepLast: 1, daily: 0, weekly: 2, monthly: 0 }, new Date('2024-12-31T00:00:00Z'));
    assert.deepEqual(plan.keep.map((k) => k.reasons.at(-1)), ['newest of ISO week 2025-W01', 'newest of ISO week 2024-W52']);
    // 2026 has 53 ISO weeks: Friday 2027-01-01 belongs to its last one.
    const late = planRetention([snap('2027-01-01T02:00:00Z')], { keepLast: 1, daily: 0, weekly: 1, monthly: 0 }, new Date('2027-01-01T03:00:00Z'));
    assert.ok(late.keep[0].reasons.includes('newest of ISO week 2026-W53'));
  });

  it('never deletes the newest verified snapshot, even when daily, weekly and monthly are 0', () => {
    const snapshots = daily(30);
    const plan = planRetention(snapshots, { keepLast: 1, daily: 0, weekly: 0, monthly: 0 }, NOW);
    assert.deepEqual(keptDays(plan), ['20261126']);
    assert.equal(plan.delete.length, 29);
    // keepLast 0 cannot pass config validation (min 1); called directly it still keeps the newest.
    const direct = planRetention(snapshots, { keepLast: 0, daily: 0, weekly: 0, monthly: 0 }, NOW);
    assert.deepEqual(keptDays(direct), ['20261126']);
  });

  it('keeps the newest snapshot even when it is older than every window', () => {
    const old = [snap('2020-01-01T02:00:00Z'), snap('2020-01-02T02:00:00Z')];
    const plan = planRetention(old, { keepLast: 1, daily: 7, weekly: 4, monthly: 12 }, NOW);
    assert.deepEqual(plan.keep.map((k) => dayOf(k.key)), ['20200102']);
    assert.deepEqual(plan.delete.map((d) => dayOf(d.key)), ['20200101']);
  });

  it('refuses a plan that would delete the newest snapshot or everything', () => {
    // planRetention cannot produce such a plan (the newest is always kept), so the guard it
    // runs on every plan is exercised directly with crafted plans.
    const [a, b] = daily(2).map((s) => s.key);
    assert.throws(() => assertSafePlan({ keep: [], delete: [{ key: a, reason: 'x' }, { key: b, reason: 'x' }] }, undefined), isRefusal);
    assert.throws(() => assertSafePlan({ keep: [{ key: a, reasons: ['x'] }], delete: [{ key: b, reason: 'x' }] }, b), isRefusal);
    assert.doesNotThrow(() => assertSafePlan({ keep: [{ key: b, reasons: ['x'] }], delete: [{ key: a, reason: 'x' }] }, b));
    assert.doesNotThrow(() => assertSafePlan({ keep: [], delete: [] }, undefined));
  });

  it('holds its invariants on 300 random catalogs and policies: newest kept, nothing both kept and deleted, nothing lost', () => {
    const rnd = random(20261126);
    for (let c = 0; c < 300; c++) {
      const count = Math.floor(rnd() * 60);
      const snapshots: SnapshotMeta[] = [];
      for (let i = 0; i < count; i++) {
        // Whole hours within ±2 years of NOW, so ties and same-day snapshots happen often.
        const at = new Date(NOW.getTime() + Math.round((rnd() * 2 - 1.5) * 365 * 24) * 3_600_000);
        snapshots.push(snap(at, rnd() < 0.8 ? 'prod' : 'dr'));
      }
      const policy = { keepLast: 1 + Math.floor(rnd() * 5), daily: Math.floor(rnd() * 15), weekly: Math.floor(rnd() * 8), monthly: Math.floor(rnd() * 15) };
      const plan = planRetention(snapshots, policy, NOW);
      const unique = new Set(snapshots.map((s) => s.key));
      const kept = new Set(plan.keep.map((k) => k.key));
      const deleted = new Set(plan.delete.map((d) => d.key));
      const context = `case ${c}: ${JSON.stringify(policy)}`;
      assert.equal(kept.size + deleted.size, unique.size, context);
      assert.ok([...deleted].every((k) => !kept.has(k)), context);
      for (const cluster of ['prod', 'dr']) {
        const mine = snapshots.filter((s) => s.cluster === cluster);
        if (mine.length === 0) continue;
        const newest = mine.reduce((x, y) => (y.takenAt > x.takenAt || (y.takenAt === x.takenAt && y.key > x.key) ? y : x));
        assert.ok(kept.has(newest.key), `${context}: newest ${newest.key} of ${cluster} kept`);
        assert.ok(plan.keep.filter((k) => k.key.includes(`/${cluster}/`)).length >= Math.min(policy.keepLast, new Set(mine.map((s) => s.key)).size), context);
      }
      assert.deepEqual(planRetention(shuffle(snapshots, rnd), policy, NOW), plan, `${context}: same plan for shuffled input`);
    }
  });

  it('gives the same plan for unsorted input and breaks takenAt ties by key', () => {
    const snapshots = daily(40);
    const sorted = planRetention(snapshots, GFS, NOW);
    assert.deepEqual(planRetention([...snapshots].reverse(), GFS, NOW), sorted);
    assert.deepEqual(planRetention(shuffle(snapshots, random(7)), GFS, NOW), sorted);

    // Two snapshots with the same takenAt (e.g. two storages' catalog merged, or clock granularity).
    const t = '2026-11-26T02:00:00.000Z';
    const x = { ...snap(t), key: `${PREFIX}prod/vault-prod-20261126-020000.snap` };
    const y = { ...snap(t), key: `${PREFIX}prod/vault-prod-20261126-020001.snap` };
    for (const input of [[x, y], [y, x]]) {
      const plan = planRetention(input, { keepLast: 1, daily: 1, weekly: 0, monthly: 0 }, NOW);
      assert.deepEqual(plan.keep.map((k) => k.key), [y.key]);
      assert.deepEqual(plan.delete.map((d) => d.key), [x.key]);
    }
  });

  it('lists a key given twice once, never both kept and deleted', () => {
    const [older, newest] = daily(2);
    const plan = planRetention([newest, older, { ...newest }], { keepLast: 1, daily: 0, weekly: 0, monthly: 0 }, NOW);
    assert.deepEqual(plan.keep.map((k) => k.key), [newest.key]);
    assert.deepEqual(plan.delete.map((d) => d.key), [older.key]);
  });

  it('keeps a snapshot whose takenAt is not a date rather than guessing its age', () => {
    const broken = { ...snap('2020-01-01T00:00:00Z'), takenAt: 'yesterday' };
    const plan = planRetention([...daily(3), broken], { keepLast: 1, daily: 0, weekly: 0, monthly: 0 }, NOW);
    assert.ok(plan.keep.some((k) => k.key === broken.key && /not a date/.test(k.reasons[0])));
    assert.equal(plan.delete.length, 2);
  });

  it('plans each cluster on its own, keeping every cluster’s newest', () => {
    const plan = planRetention([...daily(5, 'prod'), ...daily(3, 'dr').map((s) => ({ ...s, takenAt: '2025-01-01T00:00:00.000Z' }))], { keepLast: 1, daily: 0, weekly: 0, monthly: 0 }, NOW);
    assert.equal(plan.keep.length, 2);
    assert.deepEqual(plan.keep.map((k) => k.key.split('/')[1]).sort(), ['dr', 'prod']);
  });

  it('returns an empty plan for an empty catalog', () => {
    assert.deepEqual(planRetention([], GFS, NOW), { keep: [], delete: [] });
  });
});

describe('local staging retention', () => {
  const file = (name: string, ageDays: number) => ({ path: `/staging/${name}`, mtimeMs: NOW.getTime() - ageDays * DAY });

  it('deletes staged files older than the limit and keeps younger ones', () => {
    const files = [file('a.snap', 10), file('b.snap', 8), file('c.snap', 6.9), file('d.snap', 0.1)];
    assert.deepEqual(planLocalRetention(files, 7, NOW), ['/staging/a.snap', '/staging/b.snap']);
  });

  it('never deletes the newest staged file, however old it is', () => {
    const files = [file('old.snap', 30), file('older.snap', 40)];
    assert.deepEqual(planLocalRetention(files, 7, NOW), ['/staging/older.snap']);
    assert.deepEqual(planLocalRetention([file('only.snap', 400)], 0, NOW), []);
  });

  it('with a limit of 0 days keeps only the newest file', () => {
    const files = [file('a.snap', 0.5), file('b.snap', 0.1), file('c.snap', 0.2)];
    assert.deepEqual(planLocalRetention(files, 0, NOW), ['/staging/a.snap', '/staging/c.snap']);
  });

  it('returns nothing for an empty staging directory', () => {
    assert.deepEqual(planLocalRetention([], 7, NOW), []);
  });
});
