import { createInterface } from 'node:readline';
import { Writable } from 'node:stream';
import { vaultApi } from '../../lib/vault/client';

/**
 * Reads lines without echoing them: on a TTY nothing is shown; piped stdin works
 * for automation. One reader for the whole session, so piped lines are not lost.
 */
function hiddenLineReader(input: NodeJS.ReadableStream, output: NodeJS.WritableStream) {
  const muted = new Writable({ write: (_c, _e, cb) => cb() });
  const rl = createInterface({ input, output: muted, terminal: Boolean((input as { isTTY?: boolean }).isTTY) });
  const lines = rl[Symbol.asyncIterator]();
  return {
    async next(prompt: string): Promise<string | undefined> {
      output.write(prompt);
      const { value, done } = await lines.next();
      output.write('\n');
      return done ? undefined : String(value).trim();
    },
    close: () => rl.close(),
  };
}

/**
 * `secdr unseal --target URL`: prompts for Shamir key shares and sends them
 * straight to Vault. Shares never pass through Temporal; afterwards a running
 * restore can be nudged (signal `unsealProgress`) to re-check at once.
 */
export async function unsealCommand(
  address: string,
  opts: {
    caFile?: string;
    input?: NodeJS.ReadableStream;
    output?: NodeJS.WritableStream;
    nudge?: () => Promise<void>;
  } = {},
): Promise<number> {
  const input = opts.input ?? process.stdin;
  const output = opts.output ?? process.stderr;
  const api = vaultApi(address, { caFile: opts.caFile });
  const reader = hiddenLineReader(input, output);
  try {
    return await unsealLoop();
  } finally {
    reader.close();
  }

  async function unsealLoop(): Promise<number> {
    for (;;) {
      const status = await api.status();
      if (!status.sealed) {
        output.write(`${address}: unsealed\n`);
        await opts.nudge?.();
        return 0;
      }
      const key = await reader.next(
        `${address}: sealed, ${status.progress} of ${status.t} key shares entered; unseal key share (hidden): `,
      );
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
}
