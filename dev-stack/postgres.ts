import { execFileSync } from 'node:child_process';
import { chownSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { Client } from 'pg';
import { noteSecret } from '../lib/secret-registry';
import { freePort } from './ports';
import { binaries } from './paths';
import { ManagedProcess } from './supervisor';
import { waitFor } from './wait';

export interface PostgresServer {
  host: '127.0.0.1';
  port: number;
  superuser: string;
  /** Generated per run; lives only in the harness, never in workflow inputs. */
  password: string;
  process: ManagedProcess;
}

/** PostgreSQL refuses to run as root; when we are root it runs as the `postgres` user. */
function runAsIds(): { uid?: number; gid?: number } {
  if (process.getuid?.() !== 0) return {};
  const uid = Number(execFileSync('id', ['-u', 'postgres']).toString().trim());
  const gid = Number(execFileSync('id', ['-g', 'postgres']).toString().trim());
  return { uid, gid };
}

export async function startPostgres(dir: string): Promise<PostgresServer> {
  const initdb = join(binaries.postgresBin, 'initdb');
  if (!existsSync(initdb)) {
    throw new Error(`PostgreSQL not found at ${binaries.postgresBin}: run \`bash scripts/install-servers.sh\` (apt-get install postgresql)`);
  }
  const ids = runAsIds();
  const dataDir = join(dir, 'pgdata');
  mkdirSync(dir, { recursive: true });
  const password = randomBytes(18).toString('base64url');
  noteSecret(password, `PostgreSQL superuser password (${dir})`);
  const pwFile = join(dir, 'pwfile');
  writeFileSync(pwFile, password, { mode: 0o600 });
  if (ids.uid !== undefined) {
    chownSync(dir, ids.uid, ids.gid!);
    chownSync(pwFile, ids.uid, ids.gid!);
  }
  execFileSync(initdb, ['-D', dataDir, '-U', 'postgres', '--auth=scram-sha-256', `--pwfile=${pwFile}`, '-E', 'UTF8'], {
    ...ids,
    stdio: 'pipe',
  });
  const port = await freePort();
  const proc = new ManagedProcess({
    name: 'postgres',
    command: join(binaries.postgresBin, 'postgres'),
    args: ['-D', dataDir, '-k', dir, '-c', 'listen_addresses=127.0.0.1', '-p', String(port), '-c', 'fsync=off'],
    cwd: dir,
    ...ids,
    logFile: join(dir, 'postgres.log'),
  });
  if (ids.uid !== undefined) {
    writeFileSync(proc.spec.logFile, '');
    chownSync(proc.spec.logFile, ids.uid, ids.gid!);
  }
  proc.start();
  await waitFor(
    `postgres on 127.0.0.1:${port}`,
    async () => {
      proc.assertAlive();
      const client = new Client({ host: '127.0.0.1', port, user: 'postgres', password, database: 'postgres' });
      await client.connect();
      await client.end();
      return true;
    },
    { timeoutMs: 30_000, intervalMs: 200 },
  );
  return { host: '127.0.0.1', port, superuser: 'postgres', password, process: proc };
}
