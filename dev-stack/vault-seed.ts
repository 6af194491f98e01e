import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { noteSecret } from '../lib/secret-registry';
import { vaultApi } from '../lib/vault/client';

export interface SeededCredentials {
  /** Files holding AppRole role_id/secret_id, as the worker config references them. */
  snapshot: { roleIdFile: string; secretIdFile: string };
  verifier: { roleIdFile: string; secretIdFile: string };
  /** The weekly test restore's credential for a target holding an earlier restore (secdr-restorer.hcl). */
  restorer: { roleIdFile: string; secretIdFile: string };
}

const POLICY_DIR = join(__dirname, '..', 'deploy', 'vault', 'policies');

/**
 * Prepares a source cluster as a real deployment would be: kv v2, the two
 * least-privilege policies from deploy/vault/policies, AppRoles for the snapshot
 * worker and the verifier (credentials written to files in `credsDir`), a
 * PostgreSQL database secrets engine with a `readonly` role, and some app secrets.
 */
export async function seedSourceCluster(opts: {
  address: string;
  rootToken: string;
  credsDir: string;
  /** CA of the cluster's TLS certificates (an https address). */
  caFile?: string;
  postgres?: { host: string; port: number; user: string; password: string; database?: string };
}): Promise<SeededCredentials> {
  const api = vaultApi(opts.address, { token: opts.rootToken, caFile: opts.caFile });
  await api.mount({ mount_point: 'secret', type: 'kv', options: { version: '2' } });
  for (const name of ['secdr-snapshot', 'secdr-verifier', 'secdr-restorer']) {
    await api.addPolicy({ name, rules: readFileSync(join(POLICY_DIR, `${name}.hcl`), 'utf8') });
  }
  await api.enableAuth({ mount_point: 'approle', type: 'approle' });
  const creds = {} as SeededCredentials;
  for (const [role, policy] of [
    ['snapshot', 'secdr-snapshot'],
    ['verifier', 'secdr-verifier'],
    ['restorer', 'secdr-restorer'],
  ] as const) {
    await api.write(`auth/approle/role/secdr-${role}`, { token_policies: policy, token_ttl: '15m', secret_id_ttl: 0 });
    const roleId = (await api.read(`auth/approle/role/secdr-${role}/role-id`)).data.role_id as string;
    const secretId = (await api.write(`auth/approle/role/secdr-${role}/secret-id`, {})).data.secret_id as string;
    noteSecret(secretId, `AppRole secret-id of secdr-${role} on ${opts.address}`);
    const roleIdFile = join(opts.credsDir, `${role}-role-id`);
    const secretIdFile = join(opts.credsDir, `${role}-secret-id`);
    writeFileSync(roleIdFile, roleId, { mode: 0o600 });
    writeFileSync(secretIdFile, secretId, { mode: 0o600 });
    creds[role] = { roleIdFile, secretIdFile };
  }
  for (let i = 0; i < 5; i++) {
    await api.write(`secret/data/apps/app-${i}`, { data: { api_key: `demo-${i}`, note: 'seeded by secdr local stack' } });
  }
  if (opts.postgres) {
    const pg = opts.postgres;
    await api.mount({ mount_point: 'database', type: 'database' });
    await api.write('database/config/app', {
      plugin_name: 'postgresql-database-plugin',
      connection_url: `postgresql://{{username}}:{{password}}@${pg.host}:${pg.port}/${pg.database ?? 'postgres'}?sslmode=disable`,
      username: pg.user,
      password: pg.password,
      allowed_roles: 'readonly',
    });
    await api.write('database/roles/readonly', {
      db_name: 'app',
      creation_statements: [
        `CREATE ROLE "{{name}}" WITH LOGIN PASSWORD '{{password}}' VALID UNTIL '{{expiration}}';`,
        `GRANT CONNECT ON DATABASE ${pg.database ?? 'postgres'} TO "{{name}}";`,
      ],
      default_ttl: '5m',
      max_ttl: '1h',
    });
  }
  return creds;
}
