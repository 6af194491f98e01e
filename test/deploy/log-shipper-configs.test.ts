import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { freePort } from '../../dev-stack/ports';
import { requireBinary } from '../../dev-stack/paths';
import { ManagedProcess } from '../../dev-stack/supervisor';
import { httpAnswers, waitFor } from '../../dev-stack/wait';
import { repoRoot } from './tools';

type Section = { name: string; props: Map<string, string[]> };

/** Fluent Bit's classic format: `[SECTION]` headers, then `Key Value` lines; keys are case-insensitive. */
function parseFluentBit(text: string): Section[] {
  const sections: Section[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const header = /^\[(\w+)\]$/.exec(line);
    if (header) {
      sections.push({ name: header[1].toUpperCase(), props: new Map() });
      continue;
    }
    const [key, ...rest] = line.split(/\s+/);
    const section = sections.at(-1);
    assert.ok(section, `property outside a section: ${line}`);
    const k = key.toLowerCase();
    section.props.set(k, [...(section.props.get(k) ?? []), rest.join(' ')]);
  }
  return sections;
}

const get = (s: Section, key: string) => s.props.get(key.toLowerCase())?.[0];
const fluentBit = parseFluentBit(readFileSync(join(repoRoot, 'deploy', 'fluent-bit', 'fluent-bit.conf'), 'utf8'));
const service = fluentBit.find((s) => s.name === 'SERVICE')!;
const inputs = fluentBit.filter((s) => s.name === 'INPUT');
const outputs = fluentBit.filter((s) => s.name === 'OUTPUT');

/** Fluent Bit sizes (5G, 512M) in bytes. */
const bytes = (v: string) => Number(/^(\d+)/.exec(v)![1]) * { K: 2 ** 10, M: 2 ** 20, G: 2 ** 30 }[/[KMG]/i.exec(v)![0].toUpperCase() as 'K' | 'M' | 'G'];

describe('deploy/fluent-bit (checked statically: Fluent Bit cannot be installed here)', () => {
  it('ships to a primary and an independent secondary, then a local copy, in the order the alert rules name (loki.0, http.1, file.2)', () => {
    assert.deepEqual(
      outputs.map((o, i) => `${get(o, 'Name')}.${i}`),
      ['loki.0', 'http.1', 'file.2'],
    );
    assert.ok(outputs.every((o) => get(o, 'Match') === '*'), 'every output takes every record (LogPipelineDown assumes it)');
    assert.notEqual(get(outputs[0], 'Host'), get(outputs[1], 'Host'));
  });

  it('buffers on disk: storage.path set and every input on filesystem storage', () => {
    assert.match(get(service, 'storage.path') ?? '', /^\/var\//);
    assert.equal(get(service, 'storage.metrics'), 'on');
    assert.deepEqual(
      inputs.filter((i) => get(i, 'storage.type') !== 'filesystem').map((i) => get(i, 'Path')),
      [],
      'inputs whose records would wait in memory only',
    );
  });

  it('bounds every output: a disk limit (storage.total_limit_size) and a finite retry limit above the default of 1', () => {
    for (const [i, o] of outputs.entries()) {
      const what = `${get(o, 'Name')}.${i}`;
      const limit = get(o, 'storage.total_limit_size');
      assert.ok(limit && bytes(limit) >= 2 ** 30 / 2, `${what}: storage.total_limit_size ${limit}`);
      const retries = Number(get(o, 'Retry_Limit'));
      assert.ok(Number.isInteger(retries) && retries > 1, `${what}: Retry_Limit ${get(o, 'Retry_Limit')} (the default, 1, loses chunks in a short outage)`);
    }
    // Backends get about an hour: retries × the scheduler's cap.
    const backendRetrySeconds = Number(get(outputs[0], 'Retry_Limit')) * Number(get(service, 'scheduler.cap'));
    assert.ok(backendRetrySeconds >= 3600, `primary retries for ${backendRetrySeconds} s`);
  });

  it('serves the metrics endpoint Prometheus scrapes for the alert rules (job fluent-bit, port 2020)', () => {
    assert.equal(get(service, 'HTTP_Server'), 'On');
    assert.equal(get(service, 'HTTP_Port'), '2020');
    const prom = parse(readFileSync(join(repoRoot, 'deploy', 'prometheus', 'prometheus.yml'), 'utf8')) as {
      scrape_configs: { job_name: string; metrics_path?: string; static_configs: { targets: string[] }[] }[];
    };
    const job = prom.scrape_configs.find((j) => j.job_name === 'fluent-bit')!;
    assert.equal(job.metrics_path, '/api/v2/metrics/prometheus');
    assert.ok(job.static_configs[0].targets.every((t) => t.endsWith(':2020')));
  });

  it('tails the drill canary file as JSON, and each backend gets a format it accepts', () => {
    const canary = inputs.find((i) => get(i, 'Path') === '/var/log/secdr/canary.log');
    assert.ok(canary, 'the canary file (logPipeline.canary.file) is an input');
    assert.equal(get(canary, 'Parser'), 'json');
    assert.equal(get(outputs[0], 'line_format'), 'json', 'Loki lines stay JSON, so the drill can read the canary fields with `| json`');
    assert.equal(get(outputs[0], 'Labels'), 'job=fluent-bit', 'the selector the Loki adapter queries by default');
    assert.equal(get(outputs[1], 'Format'), 'json_lines');
    assert.match(get(outputs[1], 'URI') ?? '', /^\/insert\/jsonline\?/);
  });

  it('holds no credential: the secondary token comes from the environment, TLS verified', () => {
    const auth = outputs[1].props.get('header')?.find((h) => h.startsWith('Authorization'));
    assert.equal(auth, 'Authorization Bearer ${BACKUP_LOG_TOKEN}');
    assert.equal(get(outputs[1], 'TLS'), 'On');
    assert.equal(get(outputs[1], 'TLS.Verify'), 'On');
  });
});

describe('deploy/vlagent (the tested shipper)', function () {
  this.timeout(60_000);
  const unit = readFileSync(join(repoRoot, 'deploy', 'vlagent', 'vlagent.service'), 'utf8');
  // ExecStart and its backslash-continued lines.
  const execStart = /^ExecStart=((?:.*\\\n)*.*)$/m.exec(unit)![1].replace(/\\\n\s*/g, ' ').trim().split(/\s+/);
  const flags = execStart.slice(1);

  it('listens on loopback, queues each of two backends on disk with a bounded size, and retries at most every 10 s', () => {
    assert.ok(flags.includes('-httpListenAddr=127.0.0.1:9429'));
    assert.equal(flags.filter((f) => f.startsWith('-remoteWrite.url=')).length, 2);
    assert.ok(flags.some((f) => f.startsWith('-tmpDataPath=/var/lib/vlagent')));
    assert.ok(flags.includes('-remoteWrite.retryMaxTime=10s'));
    assert.ok(flags.some((f) => /^-remoteWrite\.maxDiskUsagePerURL=\d+GB$/.test(f)));
    assert.ok(flags.includes('-fileCollector.glob=/var/log/secdr/canary.log'));
  });

  it('the real vlagent v1.52.1 accepts exactly these flags (paths and URLs moved to a temp dir and loopback)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'secdr-vlagent-flags-'));
    const port = await freePort();
    const args = flags.map((f) =>
      f
        .replace('127.0.0.1:9429', `127.0.0.1:${port}`)
        .replace(/\/var\/lib\/vlagent/g, join(dir, 'data'))
        .replace(/\/var\/log\//g, `${dir}/`)
        .replace(/\/etc\/vlagent\//g, `${dir}/`)
        .replace('${PRIMARY_URL}', 'http://127.0.0.1:1')
        .replace('${SECONDARY_URL}', 'http://127.0.0.1:2'),
    );
    const proc = new ManagedProcess({ name: 'vlagent (deploy flags)', command: requireBinary('vlagent'), args, logFile: join(dir, 'vlagent.log') }).start();
    try {
      await waitFor('vlagent with the deployed flags', async () => {
        proc.assertAlive();
        return httpAnswers(`http://127.0.0.1:${port}/health`);
      });
    } finally {
      await proc.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
