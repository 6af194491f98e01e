import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { createVaultActivities } from '../../activities/vault';
import type { SecdrConfig } from '../../lib/config/schema';
import { startOpenBao, writeStaticSealKey, type OpenBaoNode } from '../../dev-stack/openbao';
import { initNode } from '../../dev-stack/openbao-setup';
import { startPostgres, type PostgresServer } from '../../dev-stack/postgres';
import { seedSourceCluster, type SeededCredentials } from '../../dev-stack/vault-seed';
import { login, vaultApi } from '../../lib/vault/client';
import { testConfig } from '../harness/config';
import { tempDir } from '../harness/temp';

const status = (err: unknown) => (err as { response?: { statusCode?: number } }).response?.statusCode;

describe('verifier policy (deploy/vault/policies/secdr-verifier.hcl) on real OpenBao and PostgreSQL', function () {
  this.timeout(120_000);
  const tmp = tempDir('verifier-policy');
  let bao: OpenBaoNode;
  let pg: PostgresServer;
  let rootToken: string;
  let creds: SeededCredentials;
  let config: SecdrConfig;

  before(async () => {
    [bao, pg] = await Promise.all([
      startOpenBao({ dir: join(tmp.dir, 'bao'), nodeId: 'src', staticSealKeyFile: writeStaticSealKey(join(tmp.dir, 'seal.key')) }),
      startPostgres(join(tmp.dir, 'pg')),
    ]);
    rootToken = (await initNode(bao.address, 'auto')).rootToken;
    const credsDir = join(tmp.dir, 'creds');
    mkdirSync(credsDir);
    creds = await seedSourceCluster({
      address: bao.address,
      rootToken,
      credsDir,
      postgres: { host: pg.host, port: pg.port, user: pg.superuser, password: pg.password },
    });
    // A second role on the same engine: its leases are someone else's.
    const root = vaultApi(bao.address, { token: rootToken });
    await root.write('database/config/app', { allowed_roles: 'readonly,other' });
    await root.write('database/roles/other', {
      db_name: 'app',
      creation_statements: [`CREATE ROLE "{{name}}" WITH LOGIN PASSWORD '{{password}}' VALID UNTIL '{{expiration}}';`],
      default_ttl: '5m',
    });
    config = testConfig(tmp.dir, {
      restore: {
        targets: [
          {
            name: 'dr',
            address: bao.address,
            seal: 'auto',
            verifier: { method: 'approle', roleId: { file: creds.verifier.roleIdFile }, secretId: { file: creds.verifier.secretIdFile } },
            database: { role: 'readonly', host: pg.host, port: pg.port },
          },
        ],
      },
    });
  });
  after(async () => {
    await Promise.all([bao, pg].filter(Boolean).map((s) => s.process.stop()));
    tmp.cleanup();
  });

  const leaseCount = async (prefix: string): Promise<number> => {
    const res = await fetch(`${bao.address}/v1/sys/leases/lookup/${prefix}/?list=true`, { headers: { 'X-Vault-Token': rootToken } });
    if (res.status === 404) return 0;
    assert.equal(res.status, 200, await res.clone().text());
    return ((await res.json()) as { data: { keys: string[] } }).data.keys.length;
  };

  it("denies the verifier revoking any lease but its own role's, in either API form", async () => {
    const other = (await vaultApi(bao.address, { token: rootToken }).read('database/creds/other')) as { lease_id: string };
    const target = config.restore.targets[0];
    const token = await login(bao.address, target.verifier, undefined, 'verifier');
    const verifier = vaultApi(bao.address, { token });
    await assert.rejects(verifier.write(`sys/leases/revoke/${other.lease_id}`, {}), (err) => status(err) === 403);
    await assert.rejects(verifier.write('sys/leases/revoke', { lease_id: other.lease_id }), (err) => status(err) === 403);
    await assert.rejects(verifier.write('sys/leases/revoke-prefix/database/creds', {}), (err) => status(err) === 403);
    assert.equal(await leaseCount('database/creds/other'), 1, "the other role's lease is still there");
    await vaultApi(bao.address, { token: rootToken }).write(`sys/leases/revoke/${other.lease_id}`, {});
  });

  it('still lets the verifier activity issue a credential, log in to PostgreSQL and revoke its own lease', async () => {
    const before = await leaseCount('database/creds/readonly');
    const result = await createVaultActivities(config).verifyDatabaseCredentials({ target: 'dr' });
    assert.match(result.loggedInAs, /^v-approle-readonly-/);
    assert.equal(result.leaseRevoked, true);
    assert.equal(await leaseCount('database/creds/readonly'), before, 'no readonly lease left behind');
  });

  it("revokes the credential's lease even when its login to PostgreSQL fails", async () => {
    const broken: SecdrConfig = { ...config, restore: { ...config.restore, targets: [{ ...config.restore.targets[0], database: { ...config.restore.targets[0].database!, database: 'no_such_db' } }] } };
    await assert.rejects(createVaultActivities(broken).verifyDatabaseCredentials({ target: 'dr' }), /cannot log in to .*no_such_db.*its lease was revoked/);
    assert.equal(await leaseCount('database/creds/readonly'), 0, 'the failed check left no live credential');
  });
});
