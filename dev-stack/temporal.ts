import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { Connection } from '@temporalio/client';
import { SEARCH_ATTRIBUTE_FLAGS } from '../lib/search-attributes';
import { freePort } from './ports';
import { requireBinary } from './paths';
import { ManagedProcess } from './supervisor';
import { waitFor } from './wait';

export interface TemporalDevServer {
  /** host:port of the frontend gRPC service. */
  address: string;
  namespace: string;
  /** Web UI URL, when started with a UI. */
  uiUrl?: string;
  process: ManagedProcess;
}

export interface TemporalDevServerOptions {
  dir: string;
  /** Start the Web UI too (the demo and `secdr dev` do; tests run headless). */
  ui?: boolean;
  /** Codec server URL the UI calls to decode payloads. */
  codecEndpoint?: string;
  /** Fixed gRPC port (e.g. 7233 for `secdr dev`); a free one when absent. */
  port?: number;
  uiPort?: number;
  /** More `start-dev` flags, e.g. `['--dynamic-config-value', 'system.enableActivityEagerExecution=false']`. */
  extraArgs?: string[];
}

/** The Temporal CLI's dev server, with history in a SQLite file in `dir`. */
export async function startTemporalDevServer(opts: TemporalDevServerOptions): Promise<TemporalDevServer> {
  const bin = requireBinary('temporal');
  mkdirSync(opts.dir, { recursive: true });
  const port = opts.port ?? (await freePort());
  const uiPort = opts.uiPort ?? (await freePort());
  const args = [
    'server',
    'start-dev',
    '--ip',
    '127.0.0.1',
    '--port',
    String(port),
    '--http-port',
    String(await freePort()),
    '--metrics-port',
    String(await freePort()),
    '--db-filename',
    join(opts.dir, 'temporal.sqlite'),
    '--log-level',
    'warn',
    ...SEARCH_ATTRIBUTE_FLAGS.flatMap((sa) => ['--search-attribute', sa]),
    ...(opts.extraArgs ?? []),
  ];
  if (opts.ui) {
    args.push('--ui-ip', '127.0.0.1', '--ui-port', String(uiPort));
    if (opts.codecEndpoint) args.push('--ui-codec-endpoint', opts.codecEndpoint);
  } else {
    args.push('--headless');
  }
  const proc = new ManagedProcess({
    name: 'temporal dev server',
    command: bin,
    args,
    env: { PATH: process.env.PATH, HOME: opts.dir },
    logFile: join(opts.dir, 'temporal.log'),
  }).start();
  const address = `127.0.0.1:${port}`;
  await waitFor(
    `temporal dev server at ${address}`,
    async () => {
      proc.assertAlive();
      const connection = await Connection.connect({ address, connectTimeout: 1000 });
      try {
        await connection.workflowService.getSystemInfo({});
        return true;
      } finally {
        await connection.close();
      }
    },
    { timeoutMs: 60_000, intervalMs: 250 },
  );
  return { address, namespace: 'default', uiUrl: opts.ui ? `http://127.0.0.1:${uiPort}` : undefined, process: proc };
}
