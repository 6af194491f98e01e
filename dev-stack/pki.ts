import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import type { Socket } from 'node:net';
import { join } from 'node:path';
import { createServer as createTlsServer, type Server as TlsServer } from 'node:tls';
import type { ComponentConfig } from '../lib/config/components';
import { platformFor } from '../lib/platform';
import { noteSecret } from '../lib/secret-registry';
import { vaultApi } from '../lib/vault/client';
import { freePort } from './ports';
import { initNode } from './openbao-setup';
import { startOpenBao, writeStaticSealKey } from './openbao';
import { requireBinary } from './paths';
import { waitFor } from './wait';

const POLICY = join(__dirname, '..', 'deploy', 'vault', 'policies', 'secdr-pki-renew.hcl');

/**
 * A real CA run as a `process` component, so drills stop and start it through the
 * platform adapter exactly as a user's config would. `caConfig` is the `caOutage.ca`
 * section for it (credentials as files).
 */
export interface LocalCa {
  type: 'openbao-pki' | 'cfssl';
  address: string;
  component: ComponentConfig;
  caConfig: Record<string, unknown>;
  /** The root certificate (PEM): what trust stores must hold. */
  rootPem(): Promise<string>;
  /** Issues a certificate outside the drill (the endpoints' initial ones); `ttl` e.g. 2h. */
  issue(names: string[], ttl: string): Promise<{ chainPem: string; keyPem: string }>;
  start(): Promise<void>;
  /** Stops it (idempotent): the suite's cleanup. */
  stop(): Promise<void>;
}

function processComponent(name: string, dir: string, command: string[], readyUrl: string): ComponentConfig {
  return {
    name,
    platform: { type: 'process', command, pidFile: join(dir, `${name}.pid`), logFile: join(dir, `${name}.log`), readyUrl, readyTimeoutSeconds: 30 },
  };
}

function withAdapter(component: ComponentConfig) {
  return {
    start: async () => void (await platformFor(component).start()),
    stop: async () => void (await platformFor(component).stop()),
  };
}

/** How the local OpenBao CA is sealed (startOpenBaoPkiCa). */
export type PkiSeal = 'static' | 'shamir';

/**
 * OpenBao's PKI engine with raft storage: a root CA at `pki`, an intermediate at `pki_int`
 * (its chain carries the root), role `service` for localhost/*.secdr.test names and IPs, and
 * an AppRole with only deploy/vault/policies/secdr-pki-renew.hcl. Credential files land in `dir`.
 *
 * `seal: 'static'` (default): the static seal, so a restart comes back unsealed by itself; the
 * component is a `process` one and the drill stops and starts the server.
 * `seal: 'shamir'`: one unseal key; the component is a `command` one that seals the CA
 * (`PUT sys/seal` with the root token) and unseals it again (`PUT sys/unseal` with the key), the
 * "seal it instead of stopping it" outage. An auto-unseal CA cannot be held sealed: OpenBao 2.7.2
 * with the static seal unseals itself about 2 s after `sys/seal` (measured here).
 */
export interface LocalOpenBaoCa extends LocalCa {
  /**
   * Generates a new root and a new intermediate under it on the running server and makes them the
   * defaults (new keys, new chain), as a CA rebuilt from scratch after a disaster would come back.
   */
  rebuildRoot(): Promise<void>;
}

export async function startOpenBaoPkiCa(dir: string, name = 'ca', opts: { seal?: PkiSeal } = {}): Promise<LocalOpenBaoCa> {
  mkdirSync(dir, { recursive: true });
  const shamir = opts.seal === 'shamir';
  const node = await startOpenBao({ dir, nodeId: name, staticSealKeyFile: shamir ? undefined : writeStaticSealKey(join(dir, 'static.key')) });
  const { rootToken, keys } = await initNode(node.address, shamir ? 'shamir' : 'auto');
  let rootPem = await setUpPki(node.address, rootToken, dir);

  let component: ComponentConfig;
  let lifecycle: { start(): Promise<void>; stop(): Promise<void> };
  if (shamir) {
    // The server stays with the harness; the drill only seals and unseals it. Token and key go
    // into files (curl reads them with @file), never into an argument list.
    const tokenHeader = join(dir, 'seal-token.header');
    const unsealBody = join(dir, 'unseal.json');
    writeFileSync(tokenHeader, `X-Vault-Token: ${rootToken}\n`, { mode: 0o600 });
    writeFileSync(unsealBody, JSON.stringify({ key: keys[0] }), { mode: 0o600 });
    const curl = '/usr/bin/curl';
    if (!existsSync(curl)) throw new Error(`curl not found at ${curl}: install it (Debian \`apt-get install curl\`); the sealed CA's command component seals and unseals through it`);
    component = {
      name,
      platform: {
        type: 'command',
        stop: [curl, '-sS', '-f', '-X', 'PUT', '-H', `@${tokenHeader}`, `${node.address}/v1/sys/seal`],
        start: [curl, '-sS', '-f', '-o', '/dev/null', '-X', 'PUT', '--data', `@${unsealBody}`, `${node.address}/v1/sys/unseal`],
        // sys/health answers 503 while sealed: curl -f exits 22.
        status: [curl, '-sS', '-f', '-o', '/dev/null', `${node.address}/v1/sys/health`],
      },
    };
    lifecycle = { start: async () => void (await platformFor(component).start()), stop: () => node.process.stop() };
  } else {
    // Hand the server over to the platform adapter: same config file, so same port and data.
    await node.process.stop();
    component = processComponent(name, dir, [requireBinary('bao'), 'server', `-config=${join(node.dataDir, 'config.hcl')}`], `${node.address}/v1/sys/health`);
    lifecycle = withAdapter(component);
    await lifecycle.start();
  }
  return {
    type: 'openbao-pki',
    address: node.address,
    component,
    caConfig: {
      type: 'openbao-pki',
      address: node.address,
      mount: 'pki_int',
      role: 'service',
      auth: { method: 'approle', roleId: { file: join(dir, 'pki-role-id') }, secretId: { file: join(dir, 'pki-secret-id') } },
      component: name,
    },
    rootPem: async () => rootPem,
    async rebuildRoot() {
      const api = vaultApi(node.address, { token: rootToken });
      const root = (await api.write('pki/root/generate/internal', { common_name: `secdr test rebuilt root ${Date.now()}`, ttl: '87600h', key_type: 'ec', key_bits: 256 })).data;
      await api.write('pki/config/issuers', { default: root.issuer_id });
      const csr = (await api.write('pki_int/intermediate/generate/internal', { common_name: 'secdr test intermediate', key_type: 'ec', key_bits: 256 })).data.csr as string;
      const signed = (await api.write('pki/root/sign-intermediate', { csr, format: 'pem_bundle', ttl: '43800h' })).data;
      const set = (await api.write('pki_int/intermediate/set-signed', { certificate: `${signed.certificate}\n${root.certificate}` })).data as { mapping: Record<string, string> };
      // The new intermediate is the imported issuer that has a key (the root comes in without one).
      const intermediate = Object.entries(set.mapping).find(([, key]) => key)?.[0];
      if (!intermediate) throw new Error(`local OpenBao CA: set-signed imported no issuer with a key (${JSON.stringify(set.mapping)})`);
      await api.write('pki_int/config/issuers', { default: intermediate });
      rootPem = root.certificate as string;
    },
    async issue(names, ttl) {
      const [cn, ...rest] = names;
      const isIp = (s: string) => /^[0-9.]+$/.test(s);
      const d = (
        await vaultApi(node.address, { token: rootToken }).write('pki_int/issue/service', {
          common_name: cn,
          alt_names: rest.filter((n) => !isIp(n)).join(','),
          ip_sans: names.filter(isIp).join(','),
          ttl,
        })
      ).data;
      return { chainPem: [d.certificate, ...(d.ca_chain as string[])].join('\n') + '\n', keyPem: d.private_key as string };
    },
    ...lifecycle,
  };
}

/** The PKI mounts, role and AppRole of startOpenBaoPkiCa on a fresh node; returns the root (PEM). */
async function setUpPki(address: string, rootToken: string, dir: string): Promise<string> {
  const api = vaultApi(address, { token: rootToken });
  await api.mount({ mount_point: 'pki', type: 'pki', config: { max_lease_ttl: '87600h' } });
  await api.write('pki/root/generate/internal', { common_name: `secdr test root ${Date.now()}`, ttl: '87600h', key_type: 'ec', key_bits: 256 });
  await api.mount({ mount_point: 'pki_int', type: 'pki', config: { max_lease_ttl: '43800h' } });
  const csr = (await api.write('pki_int/intermediate/generate/internal', { common_name: 'secdr test intermediate', key_type: 'ec', key_bits: 256 })).data.csr as string;
  const signed = (await api.write('pki/root/sign-intermediate', { csr, format: 'pem_bundle', ttl: '43800h' })).data;
  const rootPem = (await api.read('pki/cert/ca')).data.certificate as string;
  await api.write('pki_int/intermediate/set-signed', { certificate: `${signed.certificate}\n${rootPem}` });
  await api.write('pki_int/roles/service', {
    allowed_domains: 'localhost,secdr.test',
    allow_subdomains: true,
    allow_bare_domains: true,
    allow_localhost: true,
    allow_ip_sans: true,
    key_type: 'ec',
    key_bits: 256,
    max_ttl: '2160h',
  });
  await api.addPolicy({ name: 'secdr-pki-renew', rules: readFileSync(POLICY, 'utf8') });
  await api.enableAuth({ mount_point: 'approle', type: 'approle' });
  await api.write('auth/approle/role/secdr-pki-renew', { token_policies: 'secdr-pki-renew', token_ttl: '5m', secret_id_ttl: 0 });
  const roleId = (await api.read('auth/approle/role/secdr-pki-renew/role-id')).data.role_id as string;
  const secretId = (await api.write('auth/approle/role/secdr-pki-renew/secret-id', {})).data.secret_id as string;
  noteSecret(secretId, `AppRole secret-id of secdr-pki-renew on ${address}`);
  writeFileSync(join(dir, 'pki-role-id'), roleId, { mode: 0o600 });
  writeFileSync(join(dir, 'pki-secret-id'), secretId, { mode: 0o600 });
  return rootPem;
}

/** cfssl's JSON output of `gencert -initca`: a fresh self-signed root. */
function generateCfsslRoot(cfssl: string, dir: string, commonName: string): void {
  const csrFile = join(dir, 'root-csr.json');
  writeFileSync(csrFile, JSON.stringify({ CN: commonName, key: { algo: 'ecdsa', size: 256 }, ca: { expiry: '87600h' } }));
  const out = JSON.parse(execFileSync(cfssl, ['gencert', '-initca', csrFile], { stdio: ['ignore', 'pipe', 'pipe'] }).toString()) as { cert: string; key: string };
  writeFileSync(join(dir, 'ca.pem'), out.cert);
  writeFileSync(join(dir, 'ca-key.pem'), out.key, { mode: 0o600 });
}

export interface LocalCfsslCa extends LocalCa {
  /**
   * Replaces the root (new key, new certificate) while the server is stopped, as a CA
   * rebuilt from scratch after a disaster would come back.
   */
  rebuildRoot(): void;
}

const CFSSL_TTLS = ['5s', '2m', '2h', '720h'];

/** `cfssl serve` with a self-signed root, a `server` signing profile (720h) and `ttl-<d>` profiles for tests. */
export async function startCfsslCa(dir: string, name = 'cfssl-ca'): Promise<LocalCfsslCa> {
  const cfssl = requireBinary('cfssl');
  mkdirSync(dir, { recursive: true });
  generateCfsslRoot(cfssl, dir, `secdr cfssl root ${Date.now()}`);
  const usages = ['signing', 'key encipherment', 'server auth'];
  writeFileSync(
    join(dir, 'config.json'),
    JSON.stringify({
      signing: {
        default: { expiry: '24h', usages },
        // cfssl takes the lifetime from the profile: `ttl-<d>` lets tests issue short-lived certificates.
        profiles: Object.fromEntries([['server', '720h'], ...CFSSL_TTLS.map((t) => [`ttl-${t}`, t])].map(([n, expiry]) => [n, { expiry, usages }])),
      },
    }),
  );
  const port = await freePort();
  const address = `http://127.0.0.1:${port}`;
  const component = processComponent(
    name,
    dir,
    [cfssl, 'serve', '-address', '127.0.0.1', '-port', String(port), '-ca', join(dir, 'ca.pem'), '-ca-key', join(dir, 'ca-key.pem'), '-config', join(dir, 'config.json')],
    `${address}/api/v1/cfssl/health`,
  );
  const adapter = withAdapter(component);
  await adapter.start();
  return {
    type: 'cfssl',
    address,
    component,
    caConfig: { type: 'cfssl', address, profile: 'server', component: name },
    rootPem: async () => readFileSync(join(dir, 'ca.pem'), 'utf8'),
    async issue(names, ttl) {
      if (!CFSSL_TTLS.includes(ttl)) throw new Error(`local cfssl CA: no profile for ttl ${ttl}; use one of ${CFSSL_TTLS.join(', ')}`);
      const res = await fetch(`${address}/api/v1/cfssl/newcert`, {
        method: 'POST',
        body: JSON.stringify({ request: { CN: names[0], hosts: names, key: { algo: 'ecdsa', size: 256 } }, profile: `ttl-${ttl}` }),
      });
      const body = (await res.json()) as { result: { certificate: string; private_key: string } };
      return { chainPem: body.result.certificate, keyPem: body.result.private_key };
    },
    rebuildRoot: () => generateCfsslRoot(cfssl, dir, `secdr cfssl rebuilt root ${Date.now()}`),
    ...adapter,
  };
}

/** A service using a CA-issued certificate: a real TLS listener on a free loopback port. */
export interface TlsEndpoint {
  name: string;
  /** 127.0.0.1:PORT */
  address: string;
  certFile: string;
  keyFile: string;
  /** POST here and the endpoint re-reads its files (setSecureContext): "the service reloads". */
  reloadUrl: string;
  reloads: number;
  close(): Promise<void>;
}

/**
 * Starts a TLS endpoint serving `chainPem`/`keyPem` (written to files in `dir`). It reloads
 * its certificate only when told through its admin URL, like a service whose reload is an
 * API call, so a test can prove the new certificate is served after the reload and not before.
 */
export async function startTlsEndpoint(opts: { name: string; dir: string; chainPem: string; keyPem: string }): Promise<TlsEndpoint> {
  mkdirSync(opts.dir, { recursive: true });
  const certFile = join(opts.dir, `${opts.name}.crt`);
  const keyFile = join(opts.dir, `${opts.name}.key`);
  writeFileSync(certFile, opts.chainPem);
  writeFileSync(keyFile, opts.keyPem, { mode: 0o600 });
  const read = () => ({ cert: readFileSync(certFile), key: readFileSync(keyFile) });
  const sockets = new Set<Socket>();
  const tls: TlsServer = createTlsServer(read(), (socket) => socket.end('ok\n'));
  tls.on('connection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  tls.on('tlsClientError', () => undefined);
  const [port, adminPort] = [await freePort(), await freePort()];
  await new Promise<void>((resolve) => tls.listen(port, '127.0.0.1', resolve));
  const endpoint: TlsEndpoint = {
    name: opts.name,
    address: `127.0.0.1:${port}`,
    certFile,
    keyFile,
    reloadUrl: `http://127.0.0.1:${adminPort}/reload`,
    reloads: 0,
    close: async () => {
      // Probes and keep-alive reload calls may still hold sockets: close must not wait for them.
      for (const s of sockets) s.destroy();
      admin.closeAllConnections();
      await Promise.all([new Promise((r) => tls.close(r)), new Promise((r) => admin.close(r))]);
    },
  };
  const admin: HttpServer = createHttpServer((req, res) => {
    if (req.method !== 'POST' || req.url !== '/reload') {
      res.writeHead(404).end();
      return;
    }
    try {
      tls.setSecureContext(read());
      endpoint.reloads++;
      res.writeHead(204).end();
    } catch (err) {
      res.writeHead(500).end(`reload failed: ${(err as Error).message}\n`);
    }
  });
  await new Promise<void>((resolve) => admin.listen(adminPort, '127.0.0.1', resolve));
  await waitFor(`TLS endpoint ${opts.name}`, async () => tls.listening);
  return endpoint;
}
