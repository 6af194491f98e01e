import { createHash } from 'node:crypto';
import type { StorageConfig } from '../config/schema';
import type { RetentionPolicy } from '../config/schema';
import { createRecordStore, type RecordStore } from '../storage/records';
import { planRetention } from '../storage/retention';
import type { SnapshotMeta } from '../storage/snapshot-store';
import { compareReports } from './compare';
import { renderReportHtml } from './html';
import { renderJunitXml } from './junit';
import { renderMarkdown } from './markdown';
import { seconds } from './format';
import type { ProcedureReport } from './types';
import { FailureType, TypedError } from '../failure-types';

/**
 * Drill evidence kept in the snapshot storage beside the snapshots (RecordStore, same
 * encryption): `drills/<id>/report.{json,md,html}` and `junit.xml`, and a catalog entry
 * `drills/catalog/<id>.json` with each file's SHA-256, so an auditor can check the evidence
 * has not changed since the drill wrote it.
 */

export interface EvidenceFile {
  path: string;
  sha256: string;
  bytes: number;
}

export interface EvidenceEntry {
  workflowId: string;
  procedure: string;
  startedAt: string;
  finishedAt?: string;
  outcome: string;
  slosBreached: number;
  files: { json: EvidenceFile; markdown: EvidenceFile; html: EvidenceFile; junit: EvidenceFile };
  /** Storages the evidence was written to. */
  storages: string[];
}

/**
 * A drill run started by the quarterly drill: its children are `<parent id>-<drill>` and the parent's
 * ids start `quarterly-drill` (procedures/quarterly.ts, and its Schedule's workflowId). The parent
 * stores their evidence merged, so the child's own report is not stored again.
 */
export const isQuarterlyDrillChild = (workflowId: string) => workflowId.startsWith('quarterly-drill');

/** Record paths allow lower-case only; workflow ids carry `T…Z` stamps. */
export const evidenceId = (workflowId: string) => workflowId.toLowerCase().replace(/[^a-z0-9._-]/g, '-');
const catalogPath = (workflowId: string) => `drills/catalog/${evidenceId(workflowId)}.json`;

/** Every catalogued drill run in the first storage, newest first. */
export async function listEvidence(storages: StorageConfig[], storeFor: (s: StorageConfig) => RecordStore = createRecordStore): Promise<EvidenceEntry[]> {
  return listIn(storeFor(storages[0]));
}

async function listIn(store: RecordStore): Promise<EvidenceEntry[]> {
  const paths = await store.list('drills/catalog/');
  const entries: EvidenceEntry[] = [];
  for (const p of paths) {
    const text = await store.read(p);
    if (!text) continue;
    try {
      entries.push(JSON.parse(text) as EvidenceEntry);
    } catch {
      // A damaged entry must not hide the others; `drill report` on it says what is wrong.
    }
  }
  return entries.sort((a, b) => b.startedAt.localeCompare(a.startedAt) || b.workflowId.localeCompare(a.workflowId));
}

/** The stored JSON report of a run, checked against the SHA-256 its catalog entry recorded. */
export async function loadEvidence(storages: StorageConfig[], workflowId: string, storeFor: (s: StorageConfig) => RecordStore = createRecordStore): Promise<{ entry: EvidenceEntry; report: ProcedureReport } | undefined> {
  for (const s of storages) {
    const store = storeFor(s);
    const cat = await store.read(catalogPath(workflowId));
    if (!cat) continue;
    const entry = JSON.parse(cat) as EvidenceEntry;
    const json = await store.read(entry.files.json.path);
    if (json === undefined) throw new TypedError(FailureType.EvidenceInvalid, `drill evidence ${workflowId} in storage ${s.name}: catalogued ${entry.files.json.path} is missing`);
    const digest = createHash('sha256').update(json).digest('hex');
    if (digest !== entry.files.json.sha256) {
      throw new TypedError(FailureType.EvidenceInvalid, `drill evidence ${workflowId} in storage ${s.name}: ${entry.files.json.path} has SHA-256 ${digest}, the catalog recorded ${entry.files.json.sha256}: it changed after the drill wrote it`);
    }
    return { entry, report: JSON.parse(json) as ProcedureReport };
  }
  return undefined;
}

/**
 * Compares `report` with the newest earlier run of the same procedure, renders every format and
 * writes them, then the catalog entry, to every storage. Returns the entry and the report as
 * stored (with its comparison).
 */
export async function storeEvidence(
  storages: StorageConfig[],
  report: ProcedureReport,
  suites: ProcedureReport[],
  storeFor: (s: StorageConfig) => RecordStore = createRecordStore,
): Promise<{ entry: EvidenceEntry; report: ProcedureReport; rendered: { json: string; markdown: string; html: string; junit: string } }> {
  const earlier = (await listEvidence(storages, storeFor)).find((e) => e.procedure === report.procedure && e.workflowId !== report.workflowId && e.startedAt <= report.startedAt);
  const previous = earlier ? (await loadEvidence(storages, earlier.workflowId, storeFor))?.report : undefined;
  const full: ProcedureReport = { ...report, ...(previous ? { comparison: compareReports(report, previous) } : {}) };
  const rendered = {
    json: `${JSON.stringify(full, null, 2)}\n`,
    markdown: renderMarkdown(full) + comparisonMarkdown(full),
    html: renderReportHtml(full),
    junit: renderJunitXml(suites, `secdr ${report.procedure} ${report.workflowId}`),
  };
  const dir = `drills/${evidenceId(report.workflowId)}`;
  const names = { json: 'report.json', markdown: 'report.md', html: 'report.html', junit: 'junit.xml' } as const;
  let entry: EvidenceEntry | undefined;
  for (const s of storages) {
    const store = storeFor(s);
    const files = {} as EvidenceEntry['files'];
    for (const k of Object.keys(names) as (keyof typeof names)[]) {
      const path = `${dir}/${names[k]}`;
      const { sha256 } = await store.write(path, rendered[k]);
      files[k] = { path, sha256, bytes: Buffer.byteLength(rendered[k]) };
    }
    entry = {
      workflowId: report.workflowId,
      procedure: report.procedure,
      startedAt: report.startedAt,
      finishedAt: report.finishedAt,
      outcome: report.outcome,
      slosBreached: report.slos.filter((x) => !x.met).length,
      files,
      storages: storages.map((x) => x.name),
    };
    // The catalog entry last: it is the record that the evidence is complete.
    await store.write(catalogPath(report.workflowId), `${JSON.stringify(entry, null, 2)}\n`);
  }
  return { entry: entry!, report: full, rendered };
}

/** The comparison section the shared Markdown renderer does not have. */
export function comparisonMarkdown(r: ProcedureReport): string {
  const c = r.comparison;
  if (!c) return '\n## Compared with the previous run\n\n- no previous run of this procedure\n';
  return [
    '',
    '## Compared with the previous run',
    '',
    `Previous run \`${c.previousWorkflowId}\` (${c.previousStartedAt}, ${c.previousOutcome}).`,
    '',
    '| SLO | previous | this run | change |',
    '| --- | --- | --- | --- |',
    ...c.slos.map((s) => `| ${s.slo} | ${seconds(s.previousSeconds)} | ${seconds(s.currentSeconds)} | ${s.change} |`),
    '',
  ].join('\n');
}

/**
 * Drill evidence follows the snapshots' retention (config.retention: keepLast, then the newest of
 * each retained day, ISO week and month, per procedure), and the newest run of each procedure is
 * never deleted. The catalog entry goes first, so the catalog never names missing files.
 * Returns the workflow ids removed, per storage.
 */
export async function applyEvidenceRetention(
  storages: StorageConfig[],
  policy: RetentionPolicy,
  now: Date,
  storeFor: (s: StorageConfig) => RecordStore = createRecordStore,
): Promise<{ storage: string; deleted: string[] }[]> {
  const out: { storage: string; deleted: string[] }[] = [];
  for (const s of storages) {
    const store = storeFor(s);
    const entries = await listIn(store);
    const byKey = new Map(entries.map((e) => [e.workflowId, e]));
    // planRetention reads key, cluster and takenAt; a drill run is dated by its start.
    const asMeta = entries.map((e) => ({ key: e.workflowId, cluster: e.procedure, takenAt: e.startedAt }) as SnapshotMeta);
    const plan = planRetention(asMeta, policy, now);
    const deleted: string[] = [];
    for (const d of plan.delete) {
      const e = byKey.get(d.key)!;
      await store.remove(catalogPath(e.workflowId));
      for (const f of Object.values(e.files)) await store.remove(f.path);
      deleted.push(e.workflowId);
    }
    out.push({ storage: s.name, deleted });
  }
  return out;
}
