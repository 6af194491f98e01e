import { randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import { readSecret } from '../../lib/config/load';
import { join } from 'node:path';
import { mkdirSync } from 'node:fs';
import { cacheDir } from '../../dev-stack/paths';
import { freePort } from '../../dev-stack/ports';
import { stopAllOnExit } from '../../dev-stack/supervisor';
import { startTemporalDevServer } from '../../dev-stack/temporal';
import type { SecdrConfig } from '../../lib/config/schema';
import { dataConverterFor } from '../../lib/temporal/connect';
import { startCodecServer } from '../../lib/temporal/codec-server';
import type { PayloadCodec } from '@temporalio/common';

/** `preferred` when it is free on 127.0.0.1 (the ports users expect), else any free port. */
function portOr(preferred: number): Promise<number> {
  return new Promise((resolve) => {
    const probe = createServer();
    probe.once('error', () => void freePort().then(resolve));
    probe.listen(preferred, '127.0.0.1', () => probe.close(() => resolve(preferred)));
  });
}

/**
 * `secdr dev`: the embedded Temporal dev server with its Web UI (history in a
 * SQLite file under the cache), plus a codec server so the UI shows decrypted
 * payloads when a config is given. Runs until Ctrl-C.
 */
export async function devCommand(config?: SecdrConfig): Promise<void> {
  stopAllOnExit();
  const dir = join(cacheDir, 'dev-server');
  mkdirSync(dir, { recursive: true });
  const port = await portOr(7233);
  const uiPort = await portOr(8233);
  let codecEndpoint: string | undefined;
  if (config) {
    const codecPort = await portOr(8081);
    const codec = dataConverterFor(config).payloadCodecs![0] as PayloadCodec;
    // codec.server configures the token and UI origin; without it a fresh token per run. The UI's
    // codec endpoint carries the token in its path because the UI cannot add a header.
    const server = config.codec.server;
    const token = server ? readSecret(server.token, 'codec.server.token') : randomBytes(24).toString('base64url');
    await startCodecServer({ codec, host: '127.0.0.1', port: codecPort, token, allowedOrigin: server?.allowedOrigin.replace(/\/$/, '') ?? `http://127.0.0.1:${uiPort}` });
    codecEndpoint = `http://127.0.0.1:${codecPort}/${encodeURIComponent(token)}`;
  }
  const server = await startTemporalDevServer({ dir, ui: true, port, uiPort, codecEndpoint });
  console.log(`Temporal dev server: ${server.address} (namespace ${server.namespace})`);
  console.log(`Web UI:              ${server.uiUrl}`);
  if (codecEndpoint) console.log(`Codec server:        ${codecEndpoint.replace(/\/[^/]+$/, '')} (token-protected; the UI has it)`);
  console.log(`History:             ${join(dir, 'temporal.sqlite')}`);
  console.log(`\nIn another terminal: export TEMPORAL_ADDRESS=${server.address}; secdr worker --config <file>`);
  await new Promise(() => undefined);
}
