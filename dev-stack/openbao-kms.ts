import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { noteSecret } from '../lib/secret-registry';
import { vaultApi } from '../lib/vault/client';
import { startOpenBao, writeStaticSealKey, type OpenBaoNode, type TransitSeal } from './openbao';
import { initNode } from './openbao-setup';

/**
 * An OpenBao playing the KMS of an auto-unseal setup: a transit engine holding the unseal
 * key, and a token that may only encrypt and decrypt with it (what a Vault's `seal
 * "transit"` needs). Itself auto-unsealed by a static key so a test can stop and restart it.
 */
export interface TransitKms {
  node: OpenBaoNode;
  rootToken: string;
  /** What a node's `seal "transit"` stanza needs to use this KMS. */
  seal: TransitSeal;
}

const SEAL_POLICY = (mount: string, key: string) => `
path "${mount}encrypt/${key}" { capabilities = ["update"] }
path "${mount}decrypt/${key}" { capabilities = ["update"] }
`;

/**
 * Starts a KMS. With `createKey` (default) it creates the transit key; a replica starts
 * without one and receives it from `replicateTransitKey`.
 */
export async function startTransitKms(opts: { dir: string; nodeId: string; keyName?: string; createKey?: boolean }): Promise<TransitKms> {
  const keyName = opts.keyName ?? 'secdr-unseal';
  const mountPath = 'transit/';
  mkdirSync(opts.dir, { recursive: true });
  const node = await startOpenBao({ dir: opts.dir, nodeId: opts.nodeId, staticSealKeyFile: writeStaticSealKey(join(opts.dir, `${opts.nodeId}-static.key`)) });
  const { rootToken } = await initNode(node.address, 'auto');
  const api = vaultApi(node.address, { token: rootToken });
  await api.mount({ mount_point: 'transit', type: 'transit' });
  if (opts.createKey ?? true) {
    await api.write(`transit/keys/${keyName}`, {});
    // Backup/restore into a replica (another region's copy of the key) needs both flags.
    await api.write(`transit/keys/${keyName}/config`, { exportable: true, allow_plaintext_backup: true });
  }
  await api.addPolicy({ name: 'seal', rules: SEAL_POLICY(mountPath, keyName) });
  const token = (await api.tokenCreate({ policies: ['seal'], ttl: '24h', no_default_policy: true })).auth.client_token as string;
  noteSecret(token, `transit seal token of KMS ${node.address}`);
  return { node, rootToken, seal: { address: node.address, token, keyName, mountPath } };
}

/**
 * Copies the unseal key from one KMS to another with transit's backup/restore: the local
 * stand-in for a multi-region KMS key. The backup is key material: it stays in this process.
 */
export async function replicateTransitKey(from: TransitKms, to: TransitKms): Promise<void> {
  const backup = (await vaultApi(from.node.address, { token: from.rootToken }).read(`transit/backup/${from.seal.keyName}`)).data.backup as string;
  noteSecret(backup, `transit key backup of ${from.seal.keyName}`);
  await vaultApi(to.node.address, { token: to.rootToken }).write(`transit/restore/${from.seal.keyName}`, { backup });
}
