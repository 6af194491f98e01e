/** Why a Vault address could not be reached, told apart so the message can say what to fix. */
export type UnreachableKind = 'dns' | 'refused' | 'timeout' | 'tls' | 'other';

export interface Unreachable {
  kind: UnreachableKind;
  /** Names the address, the cause (with the system's error code) and the fix. */
  message: string;
  code?: string;
}

const DNS = new Set(['ENOTFOUND', 'EAI_AGAIN', 'EAI_NONAME', 'EAI_FAIL', 'EAI_NODATA']);
const TIMEOUT = new Set(['ETIMEDOUT', 'UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'ESOCKETTIMEDOUT']);
const TLS = /^(CERT_|ERR_TLS_|UNABLE_TO_|DEPTH_ZERO_SELF_SIGNED_CERT|SELF_SIGNED_CERT_IN_CHAIN|ERR_SSL_|EPROTO$)/;

/** The innermost error with a `code` (undici wraps the socket's error in `cause`; node-vault's request in `error`). */
function rootCause(err: unknown): { code?: string; name?: string; message: string } {
  let e = err as { code?: string; name?: string; message?: string; cause?: unknown; error?: unknown } | undefined;
  let found: { code?: string; name?: string; message: string } = { name: e?.name, message: e?.message ?? String(err) };
  for (let i = 0; e && i < 8; i++) {
    // DOMException (AbortSignal.timeout) has a numeric legacy `code`: only system error strings count.
    const code = typeof e.code === 'string' ? e.code : undefined;
    if (code || e.name === 'TimeoutError') found = { code, name: e.name, message: e.message ?? '' };
    e = (e.cause ?? e.error) as typeof e;
  }
  return found;
}

/**
 * Turns a failed request to `address` into one of: the host name does not resolve, nothing
 * listens (connection refused), no answer in time, or a TLS certificate problem, each with
 * the address and the fix. `timeoutMs` is what the caller waited.
 */
export function describeUnreachable(err: unknown, address: string, timeoutMs?: number): Unreachable {
  const { code, name, message } = rootCause(err);
  let host = address;
  try {
    const u = new URL(address);
    host = u.host;
  } catch {
    // not a URL: keep it as given
  }
  if (code && DNS.has(code)) {
    return { kind: 'dns', code, message: `${address}: the host name does not resolve (DNS ${code}); check the address in the config and the DNS or /etc/hosts entry for ${host.replace(/:\d+$/, '')}` };
  }
  if (code === 'ECONNREFUSED') {
    return { kind: 'refused', code, message: `${address}: connection refused (ECONNREFUSED): nothing listens on ${host}; check that Vault is running there and the port is right` };
  }
  if (name === 'TimeoutError' || (code && TIMEOUT.has(code))) {
    return {
      kind: 'timeout',
      code: code ?? 'TimeoutError',
      message: `${address}: no answer${timeoutMs ? ` within ${timeoutMs} ms` : ''} (timeout${code ? ` ${code}` : ''}); check firewalls and security groups between the worker and ${host}, and whether the node is hung`,
    };
  }
  if (code && TLS.test(code)) {
    return {
      kind: 'tls',
      code,
      message: `${address}: TLS certificate problem (${code}: ${message}); set caFile to the CA that signed Vault's certificate, or fix the certificate (names, expiry) on the server`,
    };
  }
  return { kind: 'other', code, message: `${address}: ${code ? `${code}: ` : ''}${message}` };
}
