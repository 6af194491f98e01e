import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError, loadConfig, parseConfig } from '../../../lib/config/load';
import { configCheckCommand } from '../../../scripts/commands/config-check';
import { tempDir } from '../../harness/temp';

const valid = () => ({
  clusters: [{ name: 'prod', nodes: ['https://v0:8200'], auth: { method: 'token', token: { env: 'VAULT_TOKEN' } } }],
  storage: [{ name: 'local', type: 'local', dir: '/tmp/x' }],
  codec: { key: { file: '/etc/secdr/codec.key' } },
});

function problems(raw: unknown): string[] {
  try {
    parseConfig(raw, 'secdr.yaml');
  } catch (err) {
    assert.ok(err instanceof ConfigError);
    return err.problems;
  }
  assert.fail('expected a ConfigError');
}

describe('configuration', () => {
  const tmp = tempDir('config');
  after(() => tmp.cleanup());

  it('accepts the example config shipped in examples/', () => {
    const cfg = loadConfig('examples/secdr.yaml');
    assert.equal(cfg.clusters[0].name, 'prod');
    assert.equal(cfg.restore.slo.secretsReadableSeconds, 300);
  });

  it('fills the seed SLOs and retention defaults', () => {
    const cfg = parseConfig(valid());
    assert.deepEqual(cfg.restore.slo, { secretsReadableSeconds: 300, wholeRestoreSeconds: 900, hardLimitSeconds: 3600 });
    assert.equal(cfg.retention.daily, 7);
  });

  it('names the field and the fix for a malformed node address', () => {
    const raw = valid();
    raw.clusters[0].nodes = ['vault-0:8200'];
    assert.deepEqual(problems(raw), ['clusters[0].nodes[0]: must be a base URL like https://vault-0.example:8200']);
  });

  it('refuses a secret written inline instead of a file or env reference', () => {
    const raw = valid() as Record<string, unknown>;
    raw.codec = { key: { value: 'hunter2' } };
    const p = problems(raw);
    assert.ok(p.some((x) => x.startsWith('codec.key: unknown field(s) "value"')), p.join('\n'));
    assert.ok(p.every((x) => !x.includes('hunter2')), 'the secret value is never echoed');
  });

  it('reports a missing required field as missing', () => {
    const raw = valid() as Record<string, unknown>;
    delete raw.storage;
    assert.deepEqual(problems(raw), ['storage: expected array but it is missing; add it']);
  });

  it('rejects duplicate cluster names and a Shamir target without shares', () => {
    const raw = valid() as Record<string, unknown> & ReturnType<typeof valid>;
    raw.clusters.push({ ...raw.clusters[0] });
    (raw as Record<string, unknown>).restore = {
      targets: [{ name: 'dr', address: 'http://127.0.0.1:8200', seal: 'shamir', verifier: { method: 'token', token: { env: 'T' } } }],
    };
    const p = problems(raw);
    assert.ok(p.includes('clusters[1].name: duplicate name "prod": names must be unique'), p.join('\n'));
    assert.ok(p.includes('restore.targets[0].shamir: a Shamir target needs `shamir: {shares, threshold}`'), p.join('\n'));
  });

  it('points at the YAML line of a syntax error', () => {
    const file = join(tmp.dir, 'broken.yaml');
    writeFileSync(file, 'clusters:\n  - name: prod\n    nodes: [unclosed\n');
    assert.throws(() => loadConfig(file), (err: ConfigError) => err.message.includes(file) && /YAML syntax at line \d/.test(err.message));
  });

  it('`secdr config check` exits 0 for a valid file and 2 naming the file otherwise', () => {
    const bad = join(tmp.dir, 'bad.yaml');
    writeFileSync(bad, 'clusters: []\n');
    const errors: string[] = [];
    const orig = console.error;
    const origLog = console.log;
    console.error = (m: string) => void errors.push(m);
    console.log = () => undefined;
    try {
      assert.equal(configCheckCommand('examples/secdr.yaml'), 0);
      assert.equal(configCheckCommand(bad), 2);
    } finally {
      console.error = orig;
      console.log = origLog;
    }
    assert.match(errors.join('\n'), /bad\.yaml: invalid configuration:[\s\S]*clusters: configure at least one Vault cluster/);
  });
});
