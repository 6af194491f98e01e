import { noteSecret } from '../lib/secret-registry';
import { vaultApi } from '../lib/vault/client';
import { nodeHealth } from '../lib/vault/health';
import { waitFor } from './wait';

export interface InitResult {
  rootToken: string;
  /** Shamir unseal keys (base64), or recovery keys with an auto-unseal seal. */
  keys: string[];
}

/**
 * Initialises a fresh local node and waits until it is active. Local stack and
 * tests only: in production secdr never holds a long-lived root token.
 */
export async function initNode(
  address: string,
  seal: 'auto' | 'shamir',
  shamir = { shares: 1, threshold: 1 },
  /** CA that signed the node's TLS certificate (an https address). */
  caFile?: string,
): Promise<InitResult> {
  const api = vaultApi(address, { caFile });
  const res = await api.write(
    'sys/init',
    seal === 'auto'
      ? { recovery_shares: 1, recovery_threshold: 1 }
      : { secret_shares: shamir.shares, secret_threshold: shamir.threshold },
  );
  const keys: string[] = (seal === 'auto' ? res.recovery_keys_base64 : res.keys_base64) ?? [];
  noteSecret(res.root_token, `root token of ${address}`);
  keys.forEach((k, i) => noteSecret(k, `${seal === 'auto' ? 'recovery' : 'unseal'} key ${i + 1} of ${address}`));
  if (seal === 'shamir') {
    for (const key of keys.slice(0, shamir.threshold)) await api.unseal({ key });
  }
  await waitForActive(address, 30_000, caFile);
  return { rootToken: res.root_token, keys };
}

export async function waitForActive(address: string, timeoutMs = 30_000, caFile?: string): Promise<void> {
  await waitFor(`${address} to become active`, async () => (await nodeHealth(address, caFile)).state === 'active', { timeoutMs, intervalMs: 200 });
}

/** Mounts kv v2 at `secret/` (as `bao server -dev` does). */
export async function enableKv(address: string, token: string, mount = 'secret'): Promise<void> {
  const api = vaultApi(address, { token });
  await api.mount({ mount_point: mount, type: 'kv', options: { version: '2' } });
  // A new kv v2 mount upgrades its storage in the background and answers "Upgrading from
  // non-versioned to versioned data" until done: wait until its config reads back.
  await waitFor(`kv v2 mount ${mount} on ${address} to finish its upgrade`, async () => (await api.read(`${mount}/config`)) ?? true, { timeoutMs: 30_000, intervalMs: 200 });
}
