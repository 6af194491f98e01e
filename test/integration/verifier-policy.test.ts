import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { createServer, type AddressInfo, type Socket } from 'node:net';
import { join } from 'node:path';
import { MockActivityEnvironment } from '@temporalio/testing';
import { createVaultActivities, type DatabaseCheckProgress } from '../../activities/vault';
import { waitFor } from '../../dev-stack/wait';
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
            after: 'keep', // nothing is restored here
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

  const leaseAlive = async (leaseId: string): Promise<boolean> => {
    const res = await fetch(`${bao.address}/v1/sys/leases/lookup`, { method: 'PUT', headers: { 'X-Vault-Token': rootToken }, body: JSON.stringify({ lease_id: leaseId }) });
    return res.status === 200;
  };

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

  it("records the credential's lease before logging in, and a retry after a crashed attempt revokes that lease first", async () => {
    // Attempt 1 logs in to a PostgreSQL that accepts the connection and never answers: the worker "dies" there.
    const held: Socket[] = [];
    const silent = createServer((socket) => void held.push(socket));
    await new Promise<void>((ok) => silent.listen(0, '127.0.0.1', ok));
    const target = config.restore.targets[0];
    const hanging: SecdrConfig = { ...config, restore: { ...config.restore, targets: [{ ...target, database: { ...target.database!, host: '127.0.0.1', port: (silent.address() as AddressInfo).port } }] } };
    const first = new MockActivityEnvironment();
    const beats: unknown[] = [];
    first.on('heartbeat', (d: unknown) => void beats.push(d));
    const crashed = first.run(createVaultActivities(hanging).verifyDatabaseCredentials, { target: 'dr' }).then(
      () => 'completed',
      (err: Error) => err.message,
    );
    await waitFor('the first attempt to reach the login', async () => held.length > 0, { timeoutMs: 30_000, intervalMs: 100 });
    const leftover = (beats.find((b) => (b as DatabaseCheckProgress).databaseLease) as DatabaseCheckProgress | undefined)?.databaseLease;
    assert.match(leftover ?? '', /^database\/creds\/readonly\//, `the lease id is heartbeated before the login: ${JSON.stringify(beats)}`);
    assert.equal(await leaseAlive(leftover!), true, 'the crashed attempt left a live credential');

    // Attempt 2 gets attempt 1's heartbeat details, as Temporal hands them to a retry.
    const retry = new MockActivityEnvironment({ attempt: 2, heartbeatDetails: { databaseLease: leftover } });
    const result = (await retry.run(createVaultActivities(config).verifyDatabaseCredentials, { target: 'dr' })) as { leaseRevoked: boolean };
    assert.equal(result.leaseRevoked, true);
    assert.equal(await leaseAlive(leftover!), false, "the retry revoked the crashed attempt's lease");
    assert.equal(await leaseCount('database/creds/readonly'), 0, 'no readonly lease left behind');

    // Let the abandoned attempt fail its login; whatever it says, it leaves nothing live either.
    held.forEach((s) => s.destroy());
    silent.close();
    assert.notEqual(await crashed, 'completed');
    assert.equal(await leaseCount('database/creds/readonly'), 0);
  });

  it("revokes the credential's lease even when its login to PostgreSQL fails", async () => {
    const broken: SecdrConfig = { ...config, restore: { ...config.restore, targets: [{ ...config.restore.targets[0], database: { ...config.restore.targets[0].database!, database: 'no_such_db' } }] } };
    await assert.rejects(createVaultActivities(broken).verifyDatabaseCredentials({ target: 'dr' }), /cannot log in to .*no_such_db.*its lease was revoked/);
    assert.equal(await leaseCount('database/creds/readonly'), 0, 'the failed check left no live credential');
  });
});
