import type { X509Certificate } from 'node:crypto';
import type { CaConfig } from '../config/pki';
import { readSecret } from '../config/load';
import { fail, FailureType } from '../fail';
import { noteSecret } from '../secret-registry';
import { fetchWithCa } from '../vault/health';
import { parsePemCertificates } from './pem';

/** A freshly issued certificate. `keyPem` never leaves the activity that asked for it. */
export interface Issued {
  /** Leaf first, then the issuing chain as the CA returned it. */
  chain: X509Certificate[];
  chainPem: string;
  keyPem: string;
}

export interface IssueRequest {
  /** First is the common name; IPs become IP SANs. */
  names: string[];
  /** e.g. 720h */
  ttl: string;
}

/** One CA behind one interface, so the drill is not tied to Vault. */
export interface CaClient {
  /** The CA's chain up to its root as the CA publishes it (root last when published). */
  caChain(): Promise<X509Certificate[]>;
  issue(req: IssueRequest): Promise<Issued>;
}

/** The key of a renewed certificate never enters workflow history; noting it lets the test scan prove that. */
function notePrivateKey(pem: string, cn: string): void {
  const body = pem.replace(/-----[A-Z ]+-----/g, '').replace(/\s+/g, '');
  noteSecret(body.slice(0, 64), `private key of a certificate issued for ${cn}`);
}

const isIp = (s: string) => /^[0-9.]+$|:/.test(s);

export function caClient(ca: CaConfig, timeoutMs: number): CaClient {
  return ca.type === 'openbao-pki' ? openBaoPki(ca, timeoutMs) : cfsslClient(ca, timeoutMs);
}

/**
 * One HTTP call to the CA. Connection refused, a timeout and 503 (a sealed OpenBao) are
 * CaUnavailable, detected within `timeoutMs`; other answers say what the CA said.
 */
async function call(ca: CaConfig, path: string, timeoutMs: number, init: RequestInit = {}): Promise<unknown> {
  const url = `${ca.address.replace(/\/$/, '')}${path}`;
  let res: Response;
  try {
    res = await fetchWithCa(url, ca.caFile, timeoutMs, init);
  } catch (err) {
    const e = err as Error & { cause?: { code?: string } };
    const code = e.cause?.code ?? e.name;
    throw fail(
      FailureType.CaUnavailable,
      `CA ${ca.type} at ${ca.address} (component ${ca.component}) is unavailable: ${code === 'TimeoutError' ? `no answer within ${timeoutMs} ms` : `${code} (${e.cause && 'message' in e.cause ? String(e.cause.message) : e.message})`}`,
      { address: ca.address, code },
    );
  }
  const text = await res.text();
  if (res.status === 503) {
    throw fail(FailureType.CaUnavailable, `CA ${ca.type} at ${ca.address} (component ${ca.component}) answered 503${/sealed/i.test(text) ? ' (sealed)' : ''}: it cannot issue`, {
      address: ca.address,
      status: 503,
    });
  }
  let body: unknown;
  try {
    body = text ? JSON.parse(text) : {};
  } catch {
    throw fail(
      FailureType.InvalidInput,
      `caOutage.ca.address ${ca.address}: ${path} answered ${res.status} with something that is not JSON; is this a ${ca.type} server? Fix caOutage.ca.address or caOutage.ca.type`,
    );
  }
  if (res.status === 403) {
    throw fail(
      FailureType.VaultPermissionDenied,
      `CA ${ca.address}: permission denied on ${path}; the secdr-pki-renew policy must grant it (deploy/vault/policies/secdr-pki-renew.hcl)`,
      { path },
    );
  }
  if (res.status === 404) {
    throw fail(
      FailureType.InvalidInput,
      `caOutage.ca at ${ca.address}: ${path} does not exist (404); check caOutage.ca.type, mount/role or profile`,
      { path },
    );
  }
  if (!res.ok) {
    const errors = (body as { errors?: unknown[] }).errors;
    throw fail(FailureType.CaRequestFailed, `CA ${ca.address}: ${path} answered ${res.status}: ${JSON.stringify(errors ?? body).slice(0, 300)}`);
  }
  return body;
}

function openBaoPki(ca: Extract<CaConfig, { type: 'openbao-pki' }>, timeoutMs: number): CaClient {
  const login = async (): Promise<string> => {
    if (ca.auth.method === 'token') return readSecret(ca.auth.token, 'caOutage.ca.auth token');
    const res = (await call(ca, `/v1/auth/${ca.auth.mount}/login`, timeoutMs, {
      method: 'POST',
      body: JSON.stringify({
        role_id: readSecret(ca.auth.roleId, 'caOutage.ca.auth AppRole role_id'),
        secret_id: readSecret(ca.auth.secretId, 'caOutage.ca.auth AppRole secret_id'),
      }),
    })) as { auth: { client_token: string } };
    noteSecret(res.auth.client_token, `caOutage.ca: PKI token from AppRole login at ${ca.address}`);
    return res.auth.client_token;
  };
  return {
    async caChain() {
      // Unauthenticated in the PKI engine: the issuing CA followed by its parents.
      const res = (await call(ca, `/v1/${ca.mount}/cert/ca_chain`, timeoutMs)) as { data: { certificate?: string; ca_chain?: string } };
      return parsePemCertificates(res.data.ca_chain ?? res.data.certificate ?? '');
    },
    async issue(req) {
      const token = await login();
      const [cn, ...rest] = req.names;
      const res = (await call(ca, `/v1/${ca.mount}/issue/${ca.role}`, timeoutMs, {
        method: 'POST',
        headers: { 'X-Vault-Token': token },
        body: JSON.stringify({
          common_name: cn,
          alt_names: rest.filter((n) => !isIp(n)).join(','),
          ip_sans: req.names.filter(isIp).join(','),
          ttl: req.ttl,
        }),
      })) as { data: { certificate: string; ca_chain?: string[]; issuing_ca: string; private_key: string } };
      notePrivateKey(res.data.private_key, cn);
      const chainPem = [res.data.certificate, ...(res.data.ca_chain ?? [res.data.issuing_ca])].join('\n');
      return { chain: parsePemCertificates(chainPem), chainPem: `${chainPem}\n`, keyPem: res.data.private_key };
    },
  };
}

function cfsslClient(ca: Extract<CaConfig, { type: 'cfssl' }>, timeoutMs: number): CaClient {
  const post = (path: string, body: unknown) => call(ca, path, timeoutMs, { method: 'POST', body: JSON.stringify(body), headers: { 'content-type': 'application/json' } });
  return {
    async caChain() {
      const res = (await post('/api/v1/cfssl/info', { profile: ca.profile })) as { result: { certificate: string } };
      return parsePemCertificates(res.result.certificate);
    },
    async issue(req) {
      const [cn] = req.names;
      const res = (await post('/api/v1/cfssl/newcert', {
        request: { CN: cn, hosts: req.names, key: { algo: 'ecdsa', size: 256 } },
        profile: ca.profile,
      })) as { result: { certificate: string; private_key: string } };
      notePrivateKey(res.result.private_key, cn);
      const info = await this.caChain();
      const leaf = parsePemCertificates(res.result.certificate);
      // cfssl signs with the CA certificate it serves; a self-signed root is not sent to clients.
      const intermediates = info.filter((c) => c.subject !== c.issuer);
      const chainPem = [res.result.certificate.trim(), ...intermediates.map((c) => c.toString().trim())].join('\n');
      return { chain: [...leaf, ...intermediates], chainPem: `${chainPem}\n`, keyPem: res.result.private_key };
    },
  };
}
