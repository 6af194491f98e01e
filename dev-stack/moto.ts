import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { freePort } from './ports';
import { requireBinary } from './paths';
import { ManagedProcess } from './supervisor';
import { httpAnswers, waitFor } from './wait';

/** moto's S3 + KMS emulator. It echoes SSE-KMS headers without encrypting: secdr verifies on the client. */
export interface MotoServer {
  endpoint: string;
  process: ManagedProcess;
}

export async function startMoto(dir: string): Promise<MotoServer> {
  const bin = requireBinary('motoServer');
  mkdirSync(dir, { recursive: true });
  const port = await freePort();
  const endpoint = `http://127.0.0.1:${port}`;
  const proc = new ManagedProcess({
    name: 'moto',
    command: bin,
    args: ['-H', '127.0.0.1', '-p', String(port)],
    env: { PATH: process.env.PATH, HOME: dir, AWS_DEFAULT_REGION: 'us-east-1' },
    logFile: join(dir, 'moto.log'),
  }).start();
  await waitFor(
    `moto at ${endpoint}`,
    async () => {
      proc.assertAlive();
      return httpAnswers(`${endpoint}/moto-api/`);
    },
    { timeoutMs: 30_000 },
  );
  return { endpoint, process: proc };
}
