import assert from 'node:assert/strict';
import { ConfigError, parseConfig } from '../../../lib/config/load';

const base = (target: Record<string, unknown>, components: unknown[] = []) => ({
  clusters: [{ name: 'c', nodes: ['http://127.0.0.1:8200'], auth: { method: 'token', token: { env: 'T' } } }],
  storage: [{ name: 'local', type: 'local', dir: '/tmp/x' }],
  components,
  restore: { targets: [{ name: 'dr', address: 'http://127.0.0.1:8300', seal: 'auto', verifier: { method: 'token', token: { env: 'V' } }, restorer: { method: 'token', token: { env: 'R' } }, ...target }] },
  codec: { key: { env: 'K' } },
});
const problems = (raw: unknown): string[] => {
  try {
    parseConfig(raw, 'secdr.yaml');
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  return [];
};

describe('restore target config: after, component, kms', () => {
  it('defaults `after` to seal', () => {
    assert.equal(parseConfig(base({}), 'secdr.yaml').restore.targets[0].after, 'seal');
  });

  it('names the field and the fix when `after: stop` has no component, or the component is unknown', () => {
    assert.deepEqual(problems(base({ after: 'stop' })), [
      'restore.targets[0].component: `after: stop` stops the target through its platform adapter: name the component that runs it (components[].name)',
    ]);
    assert.deepEqual(problems(base({ component: 'vault-dr' })), [
      'restore.targets[0].component: no component named "vault-dr"; add it under components: (name + platform) or fix the name',
    ]);
  });

  it('requires a restorer when the target is sealed afterwards (after: seal, the default), naming the policy and the alternatives', () => {
    const message =
      "restore.targets[0].restorer: required when after is seal (the default): the restorer AppRole from the source's data seals the restored copy (its policy holds sys/seal); " +
      'add a restorer AppRole (deploy/vault/policies/secdr-restorer.hcl) or set after: stop (with component) or after: keep';
    assert.deepEqual(problems(base({ restorer: undefined })), [message]);
    assert.deepEqual(problems(base({ restorer: undefined, after: 'seal' })), [message]);
    assert.deepEqual(problems(base({ restorer: undefined, after: 'keep' })), [], 'keep needs no restorer');
    assert.deepEqual(problems(base({ restorer: undefined, after: 'stop', component: 'vault-dr' }, [{ name: 'vault-dr', platform: { type: 'systemd', unit: 'openbao-dr.service' } }])), [], 'stop needs no restorer');
  });

  it('refuses a seal KMS on a Shamir target and an unknown KMS type', () => {
    const p = problems(base({ seal: 'shamir', shamir: { shares: 1, threshold: 1 }, kms: { type: 'transit', address: 'http://127.0.0.1:8400' } }));
    assert.deepEqual(p, ['restore.targets[0].kms: only an auto-unseal target (`seal: auto`) has a seal KMS; remove `kms` or set `seal: auto`']);
    assert.match(problems(base({ kms: { type: 'gcpckms', address: 'http://127.0.0.1:8400' } })).join('\n'), /restore\.targets\[0\]\.kms\.type/);
  });
});
