import type { RetentionPolicy } from '../config/schema';
import { fail, FailureType } from '../fail';
import type { SnapshotMeta } from './types';

export interface RetentionPlan {
  /** Newest first; every kept snapshot says why it is kept. */
  keep: { key: string; reasons: string[] }[];
  /** Newest first. */
  delete: { key: string; reason: string }[];
}

const DAY_MS = 86_400_000;

/** Calendar periods in UTC, as consecutive integers so "the last N" is a subtraction. */
const periods = {
  day: {
    index: (t: number) => Math.floor(t / DAY_MS),
    label: (t: number) => new Date(t).toISOString().slice(0, 10),
  },
  // ISO weeks start on Monday; day 0 (1970-01-01) was a Thursday, hence the +3.
  week: {
    index: (t: number) => Math.floor((Math.floor(t / DAY_MS) + 3) / 7),
    label: (t: number) => isoWeekLabel(t),
  },
  month: {
    index: (t: number) => new Date(t).getUTCFullYear() * 12 + new Date(t).getUTCMonth(),
    label: (t: number) => new Date(t).toISOString().slice(0, 7),
  },
} as const;

function isoWeekLabel(t: number): string {
  // The ISO year and week are those of the week's Thursday.
  const week = periods.week.index(t);
  const thursday = new Date(week * 7 * DAY_MS);
  const year = thursday.getUTCFullYear();
  const dayOfYear = Math.floor((thursday.getTime() - Date.UTC(year, 0, 1)) / DAY_MS);
  return `${year}-W${String(Math.floor(dayOfYear / 7) + 1).padStart(2, '0')}`;
}

/**
 * Grandfather-father-son retention over a catalog (UTC calendar periods, counted back from
 * `now` and including the current one): the newest `keepLast` snapshots; the newest of each of
 * the last `daily` days, `weekly` ISO weeks and `monthly` months that have one. Everything else
 * is planned for deletion. Snapshots are planned per cluster. Whatever the policy, the newest
 * verified snapshot of each cluster is kept (`keepLast` counts as at least 1), and a plan that
 * would delete it, or everything, is refused with a RetentionRefused failure. Entries whose
 * `takenAt` is not a date are kept: retention never deletes what it cannot place in time.
 * Pure: the same input gives the same plan whatever its order.
 */
export function planRetention(snapshots: SnapshotMeta[], policy: RetentionPolicy, now: Date): RetentionPlan {
  const byCluster = new Map<string, SnapshotMeta[]>();
  const seen = new Set<string>();
  for (const s of snapshots) {
    // A key listed twice must not be both kept and deleted: one object, one decision.
    if (seen.has(s.key)) continue;
    seen.add(s.key);
    byCluster.set(s.cluster, [...(byCluster.get(s.cluster) ?? []), s]);
  }
  const plan: RetentionPlan = { keep: [], delete: [] };
  for (const cluster of [...byCluster.keys()].sort()) {
    const part = planCluster(byCluster.get(cluster)!, policy, now);
    plan.keep.push(...part.keep);
    plan.delete.push(...part.delete);
  }
  return plan;
}

function planCluster(snapshots: SnapshotMeta[], policy: RetentionPolicy, now: Date): RetentionPlan {
  const dated = snapshots
    .map((s) => ({ key: s.key, t: Date.parse(s.takenAt) }))
    .filter((s) => Number.isFinite(s.t))
    .sort((a, b) => b.t - a.t || (a.key < b.key ? 1 : a.key > b.key ? -1 : 0));
  const undated = snapshots.filter((s) => !Number.isFinite(Date.parse(s.takenAt)));

  const reasons = new Map<string, string[]>(dated.map((s) => [s.key, []]));
  const keepLast = Math.max(1, policy.keepLast);
  if (dated.length > 0) reasons.get(dated[0].key)!.push('newest verified snapshot');
  dated.slice(0, keepLast).forEach((s) => reasons.get(s.key)!.push(`among the newest ${keepLast}`));

  const windows = [
    { count: policy.daily, period: periods.day, what: 'day' },
    { count: policy.weekly, period: periods.week, what: 'ISO week' },
    { count: policy.monthly, period: periods.month, what: 'month' },
  ];
  for (const { count, period, what } of windows) {
    if (count <= 0) continue;
    const oldest = period.index(now.getTime()) - count + 1;
    const covered = new Set<number>();
    for (const s of dated) {
      const index = period.index(s.t);
      // Newest first, so the first one seen in a period is that period's newest.
      if (index < oldest) break;
      if (covered.has(index)) continue;
      covered.add(index);
      reasons.get(s.key)!.push(`newest of ${what} ${period.label(s.t)}`);
    }
  }

  const policyText = `keepLast ${keepLast}, daily ${policy.daily}, weekly ${policy.weekly}, monthly ${policy.monthly}, as of ${now.toISOString()}`;
  const plan: RetentionPlan = { keep: [], delete: [] };
  for (const s of dated) {
    const why = reasons.get(s.key)!;
    if (why.length > 0) plan.keep.push({ key: s.key, reasons: why });
    else plan.delete.push({ key: s.key, reason: `not among the newest ${keepLast} nor the newest of a retained day, ISO week or month (${policyText})` });
  }
  for (const s of undated) plan.keep.push({ key: s.key, reasons: [`takenAt "${s.takenAt}" is not a date: kept for review`] });
  assertSafePlan(plan, dated[0]?.key);
  return plan;
}

/**
 * The last line of defence, separate from the planning so it holds whatever the planning
 * does: refuses (RetentionRefused) a plan that deletes the newest verified snapshot or
 * deletes everything.
 */
export function assertSafePlan(plan: RetentionPlan, newestKey: string | undefined): void {
  if (newestKey !== undefined && plan.delete.some((d) => d.key === newestKey)) {
    throw fail(FailureType.RetentionRefused, `retention would delete the newest verified snapshot ${newestKey}; refusing: nothing was deleted, check the policy and the catalog`, {
      newest: newestKey,
      delete: plan.delete.length,
    });
  }
  if (plan.keep.length === 0 && plan.delete.length > 0) {
    throw fail(FailureType.RetentionRefused, `retention would delete all ${plan.delete.length} snapshots and keep none; refusing: nothing was deleted, check the policy and the catalog`, {
      delete: plan.delete.length,
    });
  }
}

/**
 * Local staging files to delete: those last modified more than `maxAgeDays` days before
 * `now`, except the newest file, which is kept whatever its age (it may be the only copy
 * while uploads fail). Returns their paths.
 */
export function planLocalRetention(files: { path: string; mtimeMs: number }[], maxAgeDays: number, now: Date): string[] {
  if (files.length === 0) return [];
  const newest = files.reduce((a, b) => (b.mtimeMs > a.mtimeMs || (b.mtimeMs === a.mtimeMs && b.path > a.path) ? b : a));
  const cutoff = now.getTime() - maxAgeDays * DAY_MS;
  return files
    .filter((f) => f.path !== newest.path && f.mtimeMs < cutoff)
    .map((f) => f.path)
    .sort();
}
