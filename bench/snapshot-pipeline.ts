/**
 * secdr's snapshot pipeline against the seed's shell pipeline, side by side, on one real
 * OpenBao (raft, static seal) filled to ≥ --mb MiB and one real moto (S3 + KMS emulator);
 * then restore time of the same snapshot into a fresh node. Writes docs/benchmarks.md.
 *
 *   npm run bench -- [--mb 200] [--runs 3] [--budget-min 13] [--keep-tmp]
 */
import { createHash } from 'node:crypto';
import { createReadStream, existsSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { cpus, release, tmpdir, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { CreateBucketCommand, DeleteObjectsCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { verifySnapshotFile } from '../lib/snapshot/verify-file';
import { startMoto } from '../dev-stack/moto';
import { startOpenBao, writeStaticSealKey } from '../dev-stack/openbao';
import { enableKv, initNode } from '../dev-stack/openbao-setup';
import { binaries, requireBinary } from '../dev-stack/paths';
import { stopAll, stopAllOnExit } from '../dev-stack/supervisor';
import { fillSecrets, snapshotSize, VALUE_CHARS, writeMarker } from './fill';
import { GNU_TIME, killRunningCommands, measure, outputOf } from './measure';
import {
  renderReport,
  shellPeakKiB,
  summary,
  type BenchReport,
  type Machine,
  type Pair,
  type SecdrSide,
  type ShellSide,
} from './report';
import { restoreOnce, type RestoreTiming } from './restore';
import type { SecdrRunResult } from './run-secdr-side';

const REPO = join(__dirname, '..');
/** The generated tables for one size; docs/benchmarks.md quotes them with the analysis. */
const reportFile = (mb: number) => join(REPO, 'bench', 'out', `snapshot-${mb}.md`);
const BUCKET = 'secdr-bench';
/** moto accepts any key id; the ARN form is what a real config holds. */
const KMS_KEY_ID = 'arn:aws:kms:us-east-1:000000000000:key/secdr-bench';
const AWS_ENV = {
  AWS_ACCESS_KEY_ID: 'test',
  AWS_SECRET_ACCESS_KEY: 'test',
  AWS_REGION: 'us-east-1',
  AWS_DEFAULT_REGION: 'us-east-1',
};

const log = (line: string) => console.log(`[bench ${new Date().toISOString().slice(11, 19)}] ${line}`);

function options() {
  const { values } = parseArgs({
    options: {
      mb: { type: 'string', default: '200' },
      runs: { type: 'string', default: '3' },
      'budget-min': { type: 'string', default: '13' },
      'part-mib': { type: 'string', default: '8' },
      'queue-size': { type: 'string', default: '2' },
      /** Extra single secdr runs after the pairs, one per PARTxQUEUE (MiB x parts in flight), to choose the defaults. */
      configs: { type: 'string', default: '' },
      'keep-tmp': { type: 'boolean', default: false },
    },
  });
  const num = (name: 'mb' | 'runs' | 'budget-min' | 'part-mib' | 'queue-size', min: number) => {
    const n = Number(values[name]);
    if (!Number.isFinite(n) || n < min) throw new Error(`--${name} must be a number ≥ ${min} (got ${values[name]})`);
    return n;
  };
  return {
    mb: num('mb', 1),
    runs: Math.floor(num('runs', 1)),
    budgetMs: num('budget-min', 1) * 60_000,
    keepTmp: values['keep-tmp'] ?? false,
    partMiB: num('part-mib', 5),
    queueSize: Math.floor(num('queue-size', 1)),
    configs: (values.configs ?? '')
      .split(',')
      .filter(Boolean)
      .map((c) => {
        const [part, queue] = c.split('x').map(Number);
        if (!(part >= 5) || !(queue >= 1)) throw new Error(`--configs: "${c}" is not PARTxQUEUE with PART ≥ 5 (MiB) and QUEUE ≥ 1`);
        return { partMiB: part, queueSize: queue };
      }),
  };
}

async function machine(): Promise<Machine> {
  const python = join(dirname(binaries.motoServer), 'python');
  return {
    nproc: cpus().length,
    cpu: cpus()[0]?.model.trim() ?? 'unknown',
    memoryGiB: totalmem() / 2 ** 30,
    kernel: release(),
    node: process.version,
    openbao: (await outputOf(binaries.bao, ['version'])).replace(/\s*\(.*$/, ''),
    moto: await outputOf(python, ['-c', 'import moto; print(moto.__version__)']),
    awscli: (await outputOf(join(dirname(binaries.bao), 'aws'), ['--version'])).split(' ')[0],
    sha256sum: (await outputOf('sha256sum', ['--version'])).split('\n')[0],
  };
}

async function emptyBucket(s3: S3Client): Promise<void> {
  for (;;) {
    const page = await s3.send(new ListObjectsV2Command({ Bucket: BUCKET }));
    const keys = (page.Contents ?? []).map((o) => ({ Key: o.Key! }));
    if (keys.length === 0) return;
    await s3.send(new DeleteObjectsCommand({ Bucket: BUCKET, Delete: { Objects: keys } }));
  }
}

function stamp(d: Date): string {
  return d.toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
}

async function main(): Promise<void> {
  const opts = options();
  const began = performance.now();
  stopAllOnExit();
  process.on('exit', killRunningCommands);
  requireBinary('bao');
  requireBinary('motoServer');
  const aws = join(dirname(binaries.bao), 'aws');
  const notes: string[] = [];
  if (!existsSync(GNU_TIME)) {
    notes.push(
      "`/usr/bin/time` was missing: peak RSS of the shell commands is not available; secdr's comes from `process.resourceUsage()`.",
    );
  }

  const tmp = mkdtempSync(join(tmpdir(), 'secdr-bench-'));
  const dirs = {
    home: join(tmp, 'home'),
    secdr: join(tmp, 'staging-secdr'),
    shell: join(tmp, 'staging-shell'),
    scratch: join(tmp, 'scratch'),
  };
  for (const d of Object.values(dirs)) mkdirSync(d, { recursive: true, mode: 0o700 });
  log(`scratch directory ${tmp}`);

  try {
    // ---- servers ----
    const sealKey = writeStaticSealKey(join(tmp, 'static.key'));
    const [moto, source] = await Promise.all([
      startMoto(join(tmp, 'moto')),
      startOpenBao({ dir: join(tmp, 'openbao'), nodeId: 'source', staticSealKeyFile: sealKey }),
    ]);
    const { rootToken } = await initNode(source.address, 'auto');
    await enableKv(source.address, rootToken);
    const s3 = new S3Client({
      endpoint: moto.endpoint,
      region: 'us-east-1',
      forcePathStyle: true,
      credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    });
    await s3.send(new CreateBucketCommand({ Bucket: BUCKET }));
    log(`OpenBao ${source.address}, moto ${moto.endpoint}`);

    // ---- the two sides (run later, defined here for the quarter-size memory point) ----
    const childEnv = {
      PATH: process.env.PATH,
      HOME: dirs.home,
      ...AWS_ENV,
      BAO_ADDR: source.address,
      BAO_TOKEN: rootToken,
    };
    // The compiled JavaScript (npm run bench builds it first), as the worker runs it: no TypeScript compiled at start.
    const secdrArgs = (extra: string[]) => [join(REPO, 'dist', 'bench', 'run-secdr-side.js'), ...extra];
    // Loads node, tsx and every secdr module, then exits: warms tsx's compile cache and measures the fixed cost.
    await measure(process.execPath, secdrArgs(['--warm-up']), { env: childEnv, cwd: REPO, scratchDir: dirs.scratch });
    const secdrStartup = await measure(process.execPath, secdrArgs(['--warm-up']), {
      env: childEnv,
      cwd: REPO,
      scratchDir: dirs.scratch,
    });

    let restoreFile: string | undefined;
    const runSecdr = async (cfg = { partMiB: opts.partMiB, queueSize: opts.queueSize }): Promise<SecdrSide> => {
      const args = [
        '--address',
        source.address,
        '--part-mib',
        String(cfg.partMiB),
        '--queue-size',
        String(cfg.queueSize),
        '--endpoint',
        moto.endpoint,
        '--bucket',
        BUCKET,
        '--kms-key-id',
        KMS_KEY_ID,
        '--cluster',
        'bench',
      ];
      const proc = await measure(process.execPath, secdrArgs(args), {
        env: childEnv,
        cwd: REPO,
        scratchDir: dirs.scratch,
        display: `node dist/bench/run-secdr-side.js ${args.join(' ')}`,
      });
      const result = JSON.parse(proc.stdout.trim().split('\n').pop()!) as SecdrRunResult;
      return { proc, result };
    };
    // The shell side's file is the same snapshot; the first full-size one is kept for the restore.
    const runShell = async (keepForRestore = true): Promise<ShellSide> => {
      const name = `vault-${stamp(new Date())}.snap`;
      const file = join(dirs.shell, name);
      const o = { env: childEnv, scratchDir: dirs.scratch };
      const t0 = performance.now();
      const save = await measure(binaries.bao, ['operator', 'raft', 'snapshot', 'save', file], {
        ...o,
        display: `bao operator raft snapshot save "$DIR/${name}"`,
      });
      const sha256sum = await measure('sha256sum', [file], { ...o, display: `sha256sum "$DIR/${name}"` });
      const cpArgs = [
        's3',
        'cp',
        file,
        `s3://${BUCKET}/${name}`,
        '--sse',
        'aws:kms',
        '--sse-kms-key-id',
        KMS_KEY_ID,
        '--endpoint-url',
        moto.endpoint,
      ];
      const cp = await measure(aws, cpArgs, {
        ...o,
        display: `aws ${cpArgs.join(' ').replace(file, `"$DIR/${name}"`).replace(moto.endpoint, '"$MOTO"')}`,
      });
      const totalMs = performance.now() - t0;
      const bytes = statSync(file).size;
      if (restoreFile === undefined && keepForRestore) restoreFile = file;
      else rmSync(file, { force: true });
      return { save, sha256sum, cp, totalMs, bytes };
    };

    // ---- fill to ≥ mb MiB of snapshot, with a memory point at about a quarter ----
    const target = opts.mb * 2 ** 20;
    const markerNonce = await writeMarker(source.address, rootToken);
    // The demo-sized snapshot (marker only, tens of KB), for the small restore.
    const smallSnapshot = join(dirs.shell, 'small.snap');
    {
      const res = await fetch(`${source.address}/v1/sys/storage/raft/snapshot`, { headers: { 'X-Vault-Token': rootToken } });
      writeFileSync(smallSnapshot, Buffer.from(await res.arrayBuffer()), { mode: 0o600 });
    }
    const fillStart = performance.now();
    let secrets = Math.ceil((target * 1.02) / VALUE_CHARS);
    log(
      `filling ${source.address} with ${secrets} secrets of ${VALUE_CHARS / 1024} KiB (target snapshot ≥ ${opts.mb} MiB)`,
    );
    const quarter = Math.ceil(secrets / 4);
    await fillSecrets(source.address, rootToken, 0, quarter, log);
    log('memory point at about a quarter of the size: one run per side');
    const small = { secdr: await runSecdr(), shell: await runShell(false) };
    await emptyBucket(s3);
    log(
      `  ${(small.secdr.result.bytes / 2 ** 20).toFixed(1)} MiB snapshot: secdr peak RSS ${((small.secdr.proc.maxRssKiB ?? 0) / 1024).toFixed(0)} MiB, ` +
        `shell ${((shellPeakKiB(small.shell) ?? 0) / 1024).toFixed(0)} MiB`,
    );
    await fillSecrets(source.address, rootToken, quarter, secrets - quarter, log);
    let size = await snapshotSize(source.address, rootToken);
    for (let round = 0; size < target; round++) {
      if (round === 5)
        throw new Error(
          `snapshot is still ${size} bytes after topping up 5 times (target ${target}); something compresses the values`,
        );
      const more = Math.ceil((target - size) / VALUE_CHARS) + 2;
      log(`snapshot is ${(size / 2 ** 20).toFixed(1)} MiB, below ${opts.mb} MiB: writing ${more} more secrets`);
      await fillSecrets(source.address, rootToken, secrets, more, log);
      secrets += more;
      size = await snapshotSize(source.address, rootToken);
    }
    const fillSeconds = (performance.now() - fillStart) / 1000;
    log(`snapshot size ${(size / 2 ** 20).toFixed(1)} MiB (${size} bytes) ≥ ${opts.mb} MiB: ok`);

    const pairs: Pair[] = [];
    for (let run = 1; run <= opts.runs; run++) {
      if (run > 1 && performance.now() - began > opts.budgetMs * 0.6) {
        notes.push(
          `Only ${pairs.length} of ${opts.runs} runs per side: the time budget (${opts.budgetMs / 60_000} min) was running out.`,
        );
        break;
      }
      const first: Pair['first'] = run % 2 === 1 ? 'secdr' : 'shell';
      let secdr: SecdrSide | undefined;
      let shell: ShellSide | undefined;
      for (const side of first === 'secdr' ? (['secdr', 'shell'] as const) : (['shell', 'secdr'] as const)) {
        log(`run ${run}/${opts.runs}: ${side} side…`);
        if (side === 'secdr') {
          secdr = await runSecdr();
          log(
            `  secdr: ${(secdr.proc.wallMs / 1000).toFixed(2)} s (stream+verify ${(secdr.result.streamMs / 1000).toFixed(2)} s, put ${(secdr.result.putMs / 1000).toFixed(2)} s), ` +
              `peak RSS ${((secdr.proc.maxRssKiB ?? secdr.result.maxRssKiB) / 1024).toFixed(0)} MiB, ${secdr.result.bytes} bytes`,
          );
        } else {
          shell = await runShell();
          log(
            `  shell: ${(shell.totalMs / 1000).toFixed(2)} s (save ${(shell.save.wallMs / 1000).toFixed(2)}, sha256sum ${(shell.sha256sum.wallMs / 1000).toFixed(2)}, ` +
              `aws s3 cp ${(shell.cp.wallMs / 1000).toFixed(2)}), peak RSS ${((shellPeakKiB(shell) ?? 0) / 1024).toFixed(0)} MiB, ${shell.bytes} bytes`,
          );
        }
        await emptyBucket(s3);
      }
      for (const [side, bytes] of [
        ['secdr', secdr!.result.bytes],
        ['shell', shell!.bytes],
      ] as const) {
        if (bytes < target)
          throw new Error(`run ${run}: the ${side} side's snapshot is ${bytes} bytes, below the ${opts.mb} MiB target`);
      }
      pairs.push({ run, first, secdr: secdr!, shell: shell! });
    }

    // ---- part size and parts in flight: one extra secdr run per configuration ----
    const tuning: { partMiB: number; queueSize: number; side: SecdrSide }[] = [];
    for (const cfg of opts.configs) {
      const side = await runSecdr(cfg);
      await emptyBucket(s3);
      tuning.push({ ...cfg, side });
      log(
        `  ${cfg.partMiB} MiB x ${cfg.queueSize}: wall ${(side.proc.wallMs / 1000).toFixed(2)} s, pass ${(side.result.streamMs / 1000).toFixed(2)} s, ` +
          `finish ${(side.result.putMs / 1000).toFixed(2)} s, peak RSS ${((side.proc.maxRssKiB ?? side.result.maxRssKiB) / 1024).toFixed(0)} MiB, ELU ${side.result.streamElu.toFixed(2)}`,
      );
    }
    if (tuning.length > 0) {
      notes.push(
        'Part size × parts in flight, one secdr run each after the pairs: ' +
          tuning
            .map(
              (t) =>
                `${t.partMiB} MiB × ${t.queueSize}: wall ${(t.side.proc.wallMs / 1000).toFixed(2)} s, pass ${(t.side.result.streamMs / 1000).toFixed(2)} s, ` +
                `peak RSS ${((t.side.proc.maxRssKiB ?? t.side.result.maxRssKiB) / 1024).toFixed(0)} MiB`,
            )
            .join('; ') +
          '.',
      );
    }

    // ---- restore ----
    // Offline cost of the verification on the same file (page cache), to explain the stream phase.
    let offline: BenchReport['offline'];
    if (restoreFile) {
      const v0 = performance.now();
      await verifySnapshotFile(restoreFile);
      const verifyMs = performance.now() - v0;
      const h0 = performance.now();
      const hash = createHash('sha256');
      for await (const chunk of createReadStream(restoreFile)) hash.update(chunk as Buffer);
      hash.digest('hex');
      offline = { verifyMs, sha256Ms: performance.now() - h0 };
    }

    const restores: RestoreTiming[] = [];
    const restoreLogged = async (file: string, nodeId: string, performanceMultiplier: number): Promise<RestoreTiming> => {
      const t = await restoreOnce({
        dir: join(tmp, 'openbao'),
        nodeId,
        sealKeyFile: sealKey,
        snapshotFile: file,
        sourceToken: rootToken,
        markerNonce,
        performanceMultiplier,
      });
      const bytes = statSync(file).size;
      log(
        `  ${nodeId}: ${bytes} bytes, start ${(t.startMs / 1000).toFixed(2)} s, init ${(t.initMs / 1000).toFixed(2)} s, POST answered ${(t.postMs / 1000).toFixed(2)} s, ` +
          `secret readable ${(t.readableMs / 1000).toFixed(2)} s after the POST (init + restore ${((t.initMs + t.readableMs) / 1000).toFixed(2)} s); states: ` +
          t.states.map((x) => `${x.state}@${(x.ms / 1000).toFixed(2)}s`).join(' → '),
      );
      return { ...t, bytes };
    };
    // A failed restore (e.g. OpenBao's read timeout on an overloaded machine) is reported, and the pipeline figures are still written.
    const tryRestore = async (file: string, nodeId: string, performanceMultiplier: number): Promise<void> => {
      try {
        restores.push(await restoreLogged(file, nodeId, performanceMultiplier));
      } catch (err) {
        log(`  ${nodeId} failed: ${(err as Error).message}`);
        notes.push(`Restore ${nodeId} (performance_multiplier ${performanceMultiplier}) failed: ${(err as Error).message.slice(0, 300)}`);
      }
    };
    for (let i = 1; i <= opts.runs && restoreFile; i++) {
      if (i > 1 && performance.now() - began > opts.budgetMs * 0.9) {
        notes.push(
          `Only ${restores.length} of ${opts.runs} restores: the time budget (${opts.budgetMs / 60_000} min) was running out.`,
        );
        break;
      }
      log(`restore ${i}/${opts.runs} into a fresh node…`);
      await tryRestore(restoreFile, `restore-${i}`, 1);
    }
    // The same with OpenBao's default raft timing (performance_multiplier 5), and the small snapshot both ways.
    if (restoreFile) await tryRestore(restoreFile, 'restore-pm5', 5);
    await tryRestore(smallSnapshot, 'restore-small', 1);
    await tryRestore(smallSnapshot, 'restore-small-pm5', 5);
    s3.destroy();

    const report: BenchReport = {
      date: new Date().toISOString().slice(0, 16).replace('T', ' ') + ' UTC',
      argv: `npm run bench -- --mb ${opts.mb}${opts.runs !== 3 ? ` --runs ${opts.runs}` : ''}`,
      machine: await machine(),
      targetMiB: opts.mb,
      secrets,
      valueChars: VALUE_CHARS,
      fillSeconds,
      snapshotBytes: pairs[0].secdr.result.bytes,
      secdrStartup,
      pairs,
      restores,
      offline,
      small,
      notes,
      totalSeconds: (performance.now() - began) / 1000,
      kmsKeyId: KMS_KEY_ID,
    };
    mkdirSync(dirname(reportFile(opts.mb)), { recursive: true });
    writeFileSync(reportFile(opts.mb), renderReport(report));
    const sum = summary(report);
    log(
      `median wall: secdr ${(sum.secdrWall / 1000).toFixed(2)} s, shell ${(sum.shellWall / 1000).toFixed(2)} s (ratio ${(sum.secdrWall / sum.shellWall).toFixed(2)}); ` +
        `peak RSS: secdr ${(sum.secdrRss / 1024).toFixed(0)} MiB, shell ${(sum.shellRss / 1024).toFixed(0)} MiB`,
    );
    log(`wrote ${reportFile(opts.mb)}`);
  } finally {
    killRunningCommands();
    await stopAll();
    if (opts.keepTmp) log(`kept ${tmp}`);
    else rmSync(tmp, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? (err.stack ?? err.message) : String(err));
  process.exitCode = 1;
});
