import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join, resolve } from 'node:path';
import { stringify } from 'yaml';
import { freePort } from '../../dev-stack/ports';
import { ManagedProcess } from '../../dev-stack/supervisor';
import { GiveUp, waitFor } from '../../dev-stack/wait';

const repo = resolve(__dirname, '..', '..');
/** What `secdr worker` prints once both its workers (shared queue + host queue) poll. */
const READY_LINE = 'secdr worker polling task queue';

/** One `secdr worker` process, as one host runs it: its own config file, staging directory and metrics port. */
export interface WorkerProcess {
  name: string;
  process: ManagedProcess;
  /** Its process group (the leader's pid), kept after it is stopped, to prove nothing of it is left. */
  pgid: number;
  configFile: string;
  /** This host's staging directory (clusters[].stagingDir of every cluster); empty at start. */
  stagingDir: string;
  metricsPort: number;
  /** The Temporal worker identity (`pid@host`) of the node process serving the tasks. */
  identities: Set<string>;
  /** SIGKILL to the whole process group, as a host dying would; resolves once it is gone. */
  kill(): Promise<void>;
}

export interface WorkerProcessOptions {
  /** Directory for this worker's config, staging directory and log. */
  dir: string;
  name: string;
  /** The raw config (as in the YAML file); clusters[].stagingDir and metrics.port are set per worker. */
  config: Record<string, unknown>;
  temporalAddress: string;
  /** Extra environment (AWS_* for moto, …). */
  env?: NodeJS.ProcessEnv;
  /** How long to wait for the worker to poll; bundling the workflows takes a while on a loaded machine. Default 240 s. */
  readyTimeoutMs?: number;
}

/**
 * The compiled CLI when dist/ is at least as new as every source it is built from
 * (scripts/build.sh would do nothing); otherwise the TypeScript through tsx, so a test
 * never runs stale code.
 */
export function workerCommand(): { command: string; args: string[]; compiled: boolean } {
  const stamp = join(repo, 'dist', '.build-stamp');
  const compiled = join(repo, 'dist', 'scripts', 'secdr.js');
  if (existsSync(stamp) && existsSync(compiled) && !newerThan(statSync(stamp).mtimeMs, ['workflows', 'activities', 'workers', 'scripts', 'lib'].map((d) => join(repo, d)))) {
    return { command: process.execPath, args: [compiled], compiled: true };
  }
  return { command: join(repo, 'node_modules', '.bin', 'tsx'), args: [join(repo, 'scripts', 'secdr.ts')], compiled: false };
}

function newerThan(mtimeMs: number, dirs: string[]): boolean {
  for (const dir of dirs) {
    if (!existsSync(dir)) continue;
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) {
        if (newerThan(mtimeMs, [path])) return true;
      } else if (/\.(ts|json)$/.test(entry.name) && statSync(path).mtimeMs > mtimeMs) {
        return true;
      }
    }
  }
  return false;
}

/**
 * Starts `secdr worker` with an existing config file, in its own process group (so it can be
 * SIGKILLed like a crashed host), without waiting for it to poll.
 */
export function spawnSecdrWorker(opts: { name: string; configFile: string; temporalAddress: string; logFile: string; env?: NodeJS.ProcessEnv }): ManagedProcess {
  const cmd = workerCommand();
  return new ManagedProcess({
    name: `secdr worker ${opts.name}`,
    command: cmd.command,
    args: [...cmd.args, '--config', opts.configFile, 'worker'],
    env: { ...process.env, ...opts.env, TEMPORAL_ADDRESS: opts.temporalAddress, TEMPORAL_NAMESPACE: 'default' },
    cwd: repo,
    logFile: opts.logFile,
  }).start();
}

/** Writes the worker's own config file and starts `secdr worker`; resolves once it polls its task queues. */
export async function startWorkerProcess(opts: WorkerProcessOptions): Promise<WorkerProcess> {
  const dir = join(opts.dir, opts.name);
  const stagingDir = join(dir, 'staging');
  mkdirSync(stagingDir, { recursive: true });
  const metricsPort = await freePort();
  const raw = structuredClone(opts.config) as { clusters?: Record<string, unknown>[]; metrics?: Record<string, unknown> };
  raw.clusters = (raw.clusters ?? []).map((c) => ({ ...c, stagingDir: join(stagingDir, String(c.name)) }));
  raw.metrics = { ...raw.metrics, host: '127.0.0.1', port: metricsPort };
  const configFile = join(dir, 'secdr.yaml');
  writeFileSync(configFile, stringify(raw));
  const logFile = join(dir, 'worker.log');
  const proc = spawnSecdrWorker({ name: opts.name, configFile, temporalAddress: opts.temporalAddress, logFile, env: opts.env });
  await waitFor(
    `secdr worker ${opts.name} to poll its task queues`,
    async () => {
      if (!proc.alive) throw new GiveUp(`secdr worker ${opts.name} exited during start-up; log:\n${proc.tail()}`);
      return existsSync(logFile) && readFileSync(logFile, 'utf8').includes(READY_LINE);
    },
    { timeoutMs: opts.readyTimeoutMs ?? 240_000, intervalMs: 250 },
  );
  const identities = new Set(groupMembers(proc.pid!).map((pid) => `${pid}@${hostname()}`));
  return {
    name: opts.name,
    process: proc,
    pgid: proc.pid!,
    configFile,
    stagingDir,
    metricsPort,
    identities,
    kill: async () => {
      const pgid = proc.pid!;
      try {
        process.kill(-pgid, 'SIGKILL');
      } catch {
        // already gone
      }
      await waitFor(`worker ${opts.name} (process group ${pgid}) to be gone`, async () => !proc.alive && !groupAlive(pgid), { timeoutMs: 10_000 });
      await proc.stop();
    },
  };
}

/** Pids in process group `pgid` (the worker runs in its own group: tsx's node child is in it too). */
export function groupMembers(pgid: number): number[] {
  const pids: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      // Field 5 of /proc/PID/stat is the process group; the command name (field 2) may hold spaces.
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(fields[2]) === pgid && fields[0] !== 'Z') pids.push(Number(name));
    } catch {
      // exited while we looked
    }
  }
  return pids;
}

/** True while any live (non-zombie) process remains in group `pgid`. */
export function groupAlive(pgid: number): boolean {
  return groupMembers(pgid).length > 0;
}

/** Files left under a directory, recursively (a staging directory must end empty). */
export function filesUnder(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? filesUnder(join(dir, e.name)) : [join(dir, e.name)]));
}
