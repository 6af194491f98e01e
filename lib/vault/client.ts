import { readFileSync } from 'node:fs';
import nodeVault from 'node-vault';
import { fail, FailureType } from '../fail';
import { readSecret } from '../config/load';
import { noteSecret } from '../secret-registry';
import { describeUnreachable } from './network-error';
import type { VaultAuth } from '../config/schema';

/** A node-vault client for Vault's JSON API; `caFile` pins TLS verification to that CA. */
export function vaultApi(address: string, opts: { token?: string; caFile?: string } = {}): nodeVault.client {
  return nodeVault({
    apiVersion: 'v1',
    endpoint: address.replace(/\/$/, ''),
    token: opts.token,
    requestOptions: opts.caFile ? { ca: readFileSync(opts.caFile) } : undefined,
  });
}

interface VaultHttpError {
  response?: { statusCode?: number; body?: { errors?: string[] } };
  message?: string;
}

/**
 * Turns a node-vault error into a typed failure. `path` and `policyHint` go into
 * the message so a 403 says which capability on which path the policy lacks.
 * Vault's own error text is kept (it never contains secrets); request bodies are not.
 */
export function vaultFailure(err: unknown, what: string, path: string, policyHint?: string, address?: string): Error {
  const e = err as VaultHttpError;
  const status = e.response?.statusCode;
  const detail = e.response?.body?.errors?.join('; ') || e.message || String(err);
  if (status === 403) {
    return fail(
      FailureType.VaultPermissionDenied,
      `${what}: permission denied on ${path}${policyHint ? `; the ${policyHint} policy must grant this path (see deploy/vault/policies/)` : ''} (${detail})`,
      { path, status },
    );
  }
  if (status === 503 && /sealed/i.test(detail)) {
    return fail(FailureType.VaultSealed, `${what}: Vault is sealed (${path}); unseal it or check the seal's KMS`, { path });
  }
  if (status === undefined) {
    const why = describeUnreachable(err, address ?? path);
    return fail(FailureType.VaultUnreachable, `${what}: ${why.message}`, { path, unreachable: why.kind, code: why.code });
  }
  return fail(FailureType.VaultRequestFailed, `${what}: ${path} answered ${status}: ${detail}`, { path, status });
}

/** Logs in with the configured method; the token stays in the calling activity. */
export async function login(address: string, auth: VaultAuth, caFile: string | undefined, what: string): Promise<string> {
  if (auth.method === 'token') return readSecret(auth.token, `${what} token`);
  const api = vaultApi(address, { caFile });
  const path = `auth/${auth.mount}/login`;
  try {
    const res = await api.write(path, {
      role_id: readSecret(auth.roleId, `${what} AppRole role_id`),
      secret_id: readSecret(auth.secretId, `${what} AppRole secret_id`),
    });
    noteSecret(res.auth.client_token, `${what}: Vault token from AppRole login`);
    return res.auth.client_token as string;
  } catch (err) {
    throw vaultFailure(err, `${what}: AppRole login`, path, undefined, address);
  }
}
