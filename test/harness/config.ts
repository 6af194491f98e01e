import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseConfig } from '../../lib/config/load';
import type { SecdrConfig } from '../../lib/config/schema';

/** A valid config for tests; the codec key is a fresh random file in `dir`. */
export function testConfig(dir: string, overrides: Record<string, unknown> = {}): SecdrConfig {
  const keyFile = join(dir, 'codec.key');
  writeFileSync(keyFile, randomBytes(32).toString('base64'), { mode: 0o600 });
  return parseConfig(
    {
      clusters: [{ name: 'test', nodes: ['http://127.0.0.1:1'], auth: { method: 'token', token: { env: 'SECDR_TEST_UNUSED' } } }],
      storage: [{ name: 'local', type: 'local', dir: join(dir, 'store') }],
      codec: { keyId: 'test-1', key: { file: keyFile } },
      ...overrides,
    },
    'test config',
  );
}
