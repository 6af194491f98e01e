import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { METADATA_ENCODING_KEY, type Payload } from '@temporalio/common';
import { temporal } from '@temporalio/proto';
import { loadConfig } from '../../lib/config/load';
import { runningProcesses } from '../../dev-stack/supervisor';
import { knownCodecKeys, knownSecrets } from '../../lib/secret-registry';
import { AesGcmCodec } from '../../lib/temporal/codec';
import { codecFor } from '../../lib/temporal/connect';

/**
 * The secret scan: after every integration and end-to-end test, every workflow history on
 * every running Temporal dev server is fetched and decoded with every codec key the run
 * loaded, and searched, together with the servers' and workers' logs, the SDK's log lines
 * and the reports, for every secret value the run created (lib/secret-registry.ts: root
 * tokens, unseal/recovery keys, AppRole secret-ids, database passwords, webhook URLs,
 * codec keys, Vault tokens the activities logged in with). Searching decoded history is
 * the point: the encrypted bytes would never match, so a scan of them could not fail.
 */

export interface Leak {
  /** What leaked (the registry's description, never the value). */
  secret: string;
  /** Where: `workflow ID (run RUN) on ADDRESS`, a file path, or `SDK log`. */
  where: string;
}

export interface ScanResult {
  leaks: Leak[];
  /** Payloads no known codec key could decode: they cannot be checked, so they count as failures. */
  undecodable: string[];
  historiesScanned: number;
  filesScanned: number;
}

const scannedDirs = new Set<string>();
const sdkLog: string[] = [];
/** Decoded text of closed runs, keyed by server and run id: their history no longer changes. */
const closedRuns = new Map<string, { where: string; text: string }>();

/** A directory whose `*.log` files and `reports/` the scan reads (test/harness/temp.ts registers every temp dir). */
export function scanDir(dir: string): void {
  scannedDirs.add(dir);
}

/** Lines the Temporal SDK's logger printed (worker, workflow and activity logs); root-hooks.ts feeds it. */
export function recordSdkLog(line: string): void {
  sdkLog.push(line);
}

const ENCRYPTED = 'binary/encrypted';

function isPayload(v: unknown): v is Payload {
  return typeof v === 'object' && v !== null && 'metadata' in v && (v as Payload).data instanceof Uint8Array;
}

async function decodePayload(p: Payload): Promise<Payload | undefined> {
  const encoding = p.metadata?.[METADATA_ENCODING_KEY];
  if (!encoding || Buffer.from(encoding).toString() !== ENCRYPTED) return p;
  const keyId = Buffer.from(p.metadata?.['encryption-key-id'] ?? []).toString();
  // Tests reuse key ids with different keys: try every loaded key with that id until GCM authenticates.
  for (const k of knownCodecKeys().filter((c) => c.keyId === keyId)) {
    try {
      const [plain] = await new AesGcmCodec(new Map([[k.keyId, k.key]]), k.keyId).decode([p]);
      return decodePayload(plain);
    } catch {
      // wrong key with the same id; try the next
    }
  }
  return undefined;
}

/** Everything in a history as text: the raw JSON (bytes as UTF-8) plus every payload decoded. */
async function historyText(history: unknown, where: string, undecodable: string[]): Promise<string> {
  const texts: string[] = [];
  const walk = async (v: unknown): Promise<void> => {
    if (isPayload(v)) {
      const decoded = await decodePayload(v);
      if (!decoded) undecodable.push(`${where}: a payload encrypted with codec key "${Buffer.from(v.metadata?.['encryption-key-id'] ?? []).toString()}" that no loaded key decodes`);
      else texts.push(Buffer.from(decoded.data ?? []).toString('utf8'));
      return;
    }
    if (Array.isArray(v)) for (const x of v) await walk(x);
    else if (typeof v === 'object' && v !== null && !(v instanceof Uint8Array)) for (const x of Object.values(v)) await walk(x);
  };
  await walk(history);
  texts.push(JSON.stringify(history, (_k, val: unknown) => (val instanceof Uint8Array ? Buffer.from(val).toString('utf8') : val)));
  return texts.join('\n');
}

function temporalAddresses(): string[] {
  return runningProcesses()
    .filter((p) => p.spec.name === 'temporal dev server')
    .map((p) => {
      const arg = (flag: string) => p.spec.args[p.spec.args.indexOf(flag) + 1];
      return `${arg('--ip')}:${arg('--port')}`;
    });
}

async function scanHistories(address: string, undecodable: string[]): Promise<{ where: string; text: string }[]> {
  const connection = await Connection.connect({ address, connectTimeout: 2000 });
  try {
    const client = new Client({ connection });
    const out: { where: string; text: string }[] = [];
    // The raw list: the client's list() would decode memos, and it has no codec here on purpose.
    const executions: { workflowId: string; runId: string; running: boolean }[] = [];
    let nextPageToken: Uint8Array | undefined;
    do {
      const page = await connection.workflowService.listWorkflowExecutions({ namespace: 'default', pageSize: 1000, nextPageToken });
      for (const e of page.executions ?? []) {
        executions.push({ workflowId: e.execution!.workflowId!, runId: e.execution!.runId!, running: e.status === temporal.api.enums.v1.WorkflowExecutionStatus.WORKFLOW_EXECUTION_STATUS_RUNNING });
      }
      nextPageToken = page.nextPageToken?.length ? page.nextPageToken : undefined;
    } while (nextPageToken);
    for (const wf of executions) {
      const cacheKey = `${address}/${wf.runId}`;
      const cached = closedRuns.get(cacheKey);
      if (cached) {
        out.push(cached);
        continue;
      }
      const where = `workflow ${wf.workflowId} (run ${wf.runId}) on ${address}`;
      const history = await client.workflow.getHandle(wf.workflowId, wf.runId).fetchHistory();
      const entry = { where, text: await historyText(history, where, undecodable) };
      if (!wf.running) closedRuns.set(cacheKey, entry);
      out.push(entry);
    }
    return out;
  } finally {
    await connection.close();
  }
}

function filesToScan(): { files: string[]; yaml: string[] } {
  const files = new Set<string>(runningProcesses().map((p) => p.spec.logFile));
  const yaml: string[] = [];
  const walk = (dir: string, inReports: boolean) => {
    let entries;
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch {
      return; // removed by its suite's cleanup
    }
    for (const e of entries) {
      const path = join(dir, e.name);
      if (e.isDirectory()) walk(path, inReports || e.name === 'reports');
      else if (e.isFile() && (inReports || e.name.endsWith('.log'))) files.add(path);
      else if (e.isFile() && /\.ya?ml$/.test(e.name)) yaml.push(path);
    }
  };
  for (const dir of scannedDirs) walk(dir, false);
  return { files: [...files], yaml };
}

function search(text: string, where: string, leaks: Leak[]): void {
  for (const [value, what] of knownSecrets()) {
    if (text.includes(value)) leaks.push({ secret: what, where });
  }
}

const triedConfigs = new Set<string>();

/**
 * Workers and `secdr webhook` run as child processes in some tests, with the codec key of
 * their `--config` file: loading that config here loads (and notes) the same keys, so their
 * histories decode too. Configs are found in the children's arguments and as YAML files in
 * the tests' temp dirs (a child may have exited before the scan).
 */
function learnChildProcessCodecs(yamlFiles: string[]): void {
  const files = [
    ...runningProcesses().flatMap((p) => {
      const i = p.spec.args.indexOf('--config');
      return i >= 0 && p.spec.args[i + 1] ? [p.spec.args[i + 1]] : [];
    }),
    ...yamlFiles,
  ];
  for (const file of files) {
    if (triedConfigs.has(file)) continue;
    triedConfigs.add(file);
    try {
      codecFor(loadConfig(file));
    } catch {
      // not a secdr config, or one the child could not load either: undecodable histories are still reported
    }
  }
}

/** Runs the scan once; `secretScanAfterEach` turns its result into a test failure. */
export async function scanForSecrets(): Promise<ScanResult> {
  const result: ScanResult = { leaks: [], undecodable: [], historiesScanned: 0, filesScanned: 0 };
  const { files, yaml } = filesToScan();
  learnChildProcessCodecs(yaml);
  for (const address of temporalAddresses()) {
    for (const h of await scanHistories(address, result.undecodable)) {
      search(h.text, h.where, result.leaks);
      result.historiesScanned++;
    }
  }
  for (const file of files) {
    try {
      if (statSync(file).size > 64 * 1024 * 1024) continue; // raft/sqlite data never ends in .log; a log this big is not ours
      search(readFileSync(file, 'utf8'), file, result.leaks);
      result.filesScanned++;
    } catch {
      // a file removed while scanning (a stopped server's temp dir) has nothing left to leak
    }
  }
  search(sdkLog.join('\n'), 'the Temporal SDK log (worker, workflow and activity loggers)', result.leaks);
  return result;
}

export function describeScan(r: ScanResult): string {
  return [
    ...r.leaks.map((l) => `secret leaked: ${l.secret} found in ${l.where}`),
    ...r.undecodable.map((u) => `cannot check: ${u}`),
  ].join('\n');
}

/** Root afterEach for integration and end-to-end tests: fails the test run on any leak. */
export async function secretScanAfterEach(this: Mocha.Context): Promise<void> {
  const file = this.currentTest?.file ?? '';
  if (!/[/\\]test[/\\](integration|e2e)[/\\]/.test(file)) return;
  const r = await scanForSecrets();
  if (r.leaks.length || r.undecodable.length) {
    throw new Error(`secret scan after "${this.currentTest?.fullTitle()}":\n${describeScan(r)}`);
  }
}
