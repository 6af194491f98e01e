import { createInterface } from 'node:readline';
import { Writable } from 'node:stream';
import { vaultApi } from '../../lib/vault/client';

/** Reads one line without echoing it (a TTY shows nothing; piped stdin works for automation). */
function readHidden(prompt: string, input: NodeJS.ReadableStream, output: NodeJS.WritableStream): Promise<string | undefined> {
  const muted = new Writable({ write: (_c, _e, cb) => cb() });
  output.write(prompt);
  const rl = createInterface({ input, output: muted, terminal: Boolean((input as { isTTY?: boolean }).isTTY) });
  return new Promise((resolve) => {
    let answered = false;
    rl.once('line', (line) => {
      answered = true;
      output.write('\n');
      rl.close();
      resolve(line.trim());
    });
    rl.once('close', () => {
      if (!answered) resolve(undefined);
    });
  });
}

/**
 * `secdr unseal --target URL`: prompts for Shamir key shares and sends them
 * straight to Vault. Shares never pass through Temporal; afterwards a running
 * restore can be nudged (signal `unsealProgress`) to re-check at once.
 */
export async function unsealCommand(
  address: string,
  opts: { caFile?: string; input?: NodeJS.ReadableStream; output?: NodeJS.WritableStream; nudge?: () => Promise<void> } = {},
): Promise<number> {
  const input = opts.input ?? process.stdin;
  const output = opts.output ?? process.stderr;
  const api = vaultApi(address, { caFile: opts.caFile });
  for (;;) {
    const status = await api.status();
    if (!status.sealed) {
      output.write(`${address}: unsealed\n`);
      await opts.nudge?.();
      return 0;
    }
    const key = await readHidden(`${address}: sealed, ${status.progress} of ${status.t} key shares entered; unseal key share (hidden): `, input, output);
    if (!key) {
      output.write('no key share given; nothing sent\n');
      return 1;
    }
    try {
      await api.unseal({ key });
    } catch (err) {
      const e = err as { response?: { body?: { errors?: string[] } }; message?: string };
      output.write(`Vault refused the share: ${e.response?.body?.errors?.join('; ') ?? e.message}\n`);
      return 1;
    }
    await opts.nudge?.();
  }
}
