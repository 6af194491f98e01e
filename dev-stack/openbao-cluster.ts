import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { vaultApi } from '../lib/vault/client';
import { nodeHealth } from '../lib/vault/health';
import type { OpenBaoNode, TransitSeal } from './openbao';
import { initNode } from './openbao-setup';
import { requireBinary } from './paths';
import { freePort } from './ports';
import { ManagedProcess } from './supervisor';
import { waitFor } from './wait';

/** The shipped production shape: the tests run these files, so what users deploy is what was tested. */
export const PRODUCTION_DIR = join(__dirname, '..', 'deploy', 'vault', 'production');

/** Which seal file replaces seal-awskms.hcl (no AWS here): documented in deploy/vault/production/README.md. */
export type ClusterSeal = { type: 'static'; keyFile: string } | { type: 'transit'; kms: TransitSeal };

export interface RaftServer {
  node_id: string;
  address: string;
  leader: boolean;
  voter: boolean;
}

export interface OpenBaoCluster {
  /** vault-0, vault-1, vault-2; `address` is https://127.0.0.1:PORT. */
  nodes: OpenBaoNode[];
  addresses: string[];
  /** The CA that signed every node's certificate: what clients (secdr's clusters[].caFile) trust. */
  caFile: string;
  rootToken: string;
  /** The rendered files each node was started with: [node config, seal], as `-config` arguments. */
  configFiles: string[][];
  /** The raft configuration as the leader reports it. */
  servers(): Promise<RaftServer[]>;
  /** The active node's address, waiting up to `timeoutMs` for one (an election may be under way). */
  active(timeoutMs?: number): Promise<string>;
  stop(): Promise<void>;
}

/** A throwaway CA and, per node, a certificate for 127.0.0.1/localhost signed by it (also its retry_join client certificate). */
function makeTls(dir: string, nodes: string[]): { caFile: string; tlsDir: (node: string) => string } {
  const openssl = (args: string[]) => {
    try {
      execFileSync('openssl', args, { stdio: ['ignore', 'ignore', 'pipe'] });
    } catch (err) {
      const e = err as { status?: number; stderr?: Buffer };
      throw new Error(`openssl ${args.join(' ')} exited ${e.status}: ${e.stderr?.toString().trim()}`);
    }
  };
  mkdirSync(dir, { recursive: true });
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  const caKey = join(dir, 'ca-key.pem');
  const caFile = join(dir, 'ca.pem');
  openssl(['req', '-x509', ...ec, '-keyout', caKey, '-out', caFile, '-days', '2', '-subj', '/CN=secdr-test-raft-ca']);
  const ext = join(dir, 'node.ext');
  writeFileSync(ext, 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth,clientAuth\n');
  const tlsDir = (node: string) => join(dir, node);
  for (const node of nodes) {
    const d = tlsDir(node);
    mkdirSync(d, { recursive: true });
    openssl(['req', ...ec, '-keyout', join(d, 'node-key.pem'), '-out', join(d, 'node.csr'), '-subj', `/CN=${node}`]);
    openssl(['x509', '-req', '-in', join(d, 'node.csr'), '-CA', caFile, '-CAkey', caKey, '-CAcreateserial', '-out', join(d, 'node.pem'), '-days', '2', '-extfile', ext]);
    copyFileSync(caFile, join(d, 'ca.pem'));
  }
  return { caFile, tlsDir };
}

/**
 * Renders a shipped file for loopback: each [pattern, replacement] must match (a changed
 * production file fails here, by name, instead of silently testing something else), and no
 * production host name or path may be left over.
 */
function render(file: string, substitutions: [RegExp, string][]): string {
  let text = readFileSync(join(PRODUCTION_DIR, file), 'utf8');
  for (const [pattern, replacement] of substitutions) {
    if (!pattern.test(text)) throw new Error(`deploy/vault/production/${file}: expected ${pattern} to render it for a local cluster; update dev-stack/openbao-cluster.ts with the file`);
    text = text.replace(pattern, replacement);
  }
  const left = text.match(/vault\.internal|\/etc\/openbao|\/var\/lib\/openbao|0\.0\.0\.0/);
  if (left) throw new Error(`deploy/vault/production/${file}: "${left[0]}" is left after rendering it for a local cluster; update dev-stack/openbao-cluster.ts with the file`);
  return text;
}

function renderSeal(seal: ClusterSeal, caFile: string): string {
  if (seal.type === 'static') return render('seal-static.hcl', [[/\/etc\/openbao\/seal\/static\.key/g, seal.keyFile]]);
  return render('seal-transit.hcl', [
    [/https:\/\/kms-a\.vault\.internal:8200/g, seal.kms.address],
    [/key_name(\s*)= "secdr-unseal"/, `key_name$1= "${seal.kms.keyName}"`],
    // The local KMS listens on plain http, where this CA is not used; the file must exist.
    [/\/etc\/openbao\/tls\/kms-ca\.pem/g, caFile],
  ]);
}

/** `bao server -config=<node> -config=<seal>`, as the shipped files say to run it. */
function startNode(id: string, address: string, dataDir: string, config: string, sealFile: string, seal: ClusterSeal): OpenBaoNode {
  const configFile = join(dataDir, 'openbao.hcl');
  writeFileSync(configFile, config);
  const process_ = new ManagedProcess({
    name: `openbao ${id}`,
    command: requireBinary('bao'),
    args: ['server', `-config=${configFile}`, `-config=${sealFile}`],
    env: {
      PATH: process.env.PATH,
      HOME: dataDir,
      // The transit seal's token comes from the environment, as seal-transit.hcl says, never from the file.
      ...(seal.type === 'transit' ? { BAO_TOKEN: seal.kms.token, VAULT_TOKEN: seal.kms.token } : {}),
    },
    logFile: join(dataDir, 'server.log'),
  }).start();
  return { nodeId: id, address, process: process_, dataDir };
}

async function waitListening(n: OpenBaoNode, caFile: string): Promise<void> {
  await waitFor(
    `openbao ${n.nodeId} at ${n.address}`,
    async () => {
      n.process.assertAlive();
      return (await nodeHealth(n.address, caFile)).state !== 'unreachable';
    },
    { timeoutMs: 60_000 },
  );
}

/**
 * Starts the DR / weekly test-restore target from deploy/vault/production/dr-target.hcl, with the
 * same seal override and its own CA, uninitialised: secdr's restore initialises it. Give it the
 * source cluster's seal (the same static key, or the KMS holding the same transit key) so the
 * restored keyring unseals.
 */
export async function startDrTarget(opts: { dir: string; seal: ClusterSeal }): Promise<OpenBaoNode & { caFile: string }> {
  const id = 'vault-dr-0';
  const { caFile, tlsDir } = makeTls(join(opts.dir, 'tls'), [id]);
  const [api, cluster] = [await freePort(), await freePort()];
  const address = `https://127.0.0.1:${api}`;
  const dataDir = join(opts.dir, id);
  mkdirSync(join(dataDir, 'raft'), { recursive: true });
  const sealFile = join(opts.dir, 'seal.hcl');
  writeFileSync(sealFile, renderSeal(opts.seal, caFile));
  const config = render('dr-target.hcl', [
    [/^api_addr(\s*)= ".*"$/m, `api_addr$1= "${address}"`],
    [/^cluster_addr(\s*)= ".*"$/m, `cluster_addr$1= "https://127.0.0.1:${cluster}"`],
    [/\/var\/lib\/openbao\/raft/g, join(dataDir, 'raft')],
    [/\/etc\/openbao\/tls\//g, `${tlsDir(id)}/`],
    [/0\.0\.0\.0:8200/g, `127.0.0.1:${api}`],
    [/0\.0\.0\.0:8201/g, `127.0.0.1:${cluster}`],
  ]);
  const node = startNode(id, address, dataDir, config, sealFile, opts.seal);
  try {
    await waitListening(node, caFile);
  } catch (err) {
    await node.process.stop();
    throw err;
  }
  return { ...node, caFile };
}

/**
 * Starts the 3-node raft cluster of deploy/vault/production/ on loopback: `openbao.hcl` per
 * node with its names, ports and paths replaced (see README.md there), the seal file
 * `seal-static.hcl` or `seal-transit.hcl` in place of `seal-awskms.hcl`, TLS with a CA made
 * now. Node vault-0 is initialised; vault-1 and vault-2 join through their `retry_join`
 * stanzas and auto-unseal; resolves once all three are voters and unsealed.
 */
export async function startOpenBaoCluster(opts: { dir: string; seal: ClusterSeal }): Promise<OpenBaoCluster> {
  const ids = ['vault-0', 'vault-1', 'vault-2'];
  mkdirSync(opts.dir, { recursive: true });
  const { caFile, tlsDir } = makeTls(join(opts.dir, 'tls'), ids);
  const api: number[] = [];
  const cluster: number[] = [];
  for (let i = 0; i < ids.length; i++) {
    api.push(await freePort());
    cluster.push(await freePort());
  }
  const addresses = api.map((p) => `https://127.0.0.1:${p}`);
  const sealFile = join(opts.dir, 'seal.hcl');
  writeFileSync(sealFile, renderSeal(opts.seal, caFile));

  const nodes: OpenBaoNode[] = ids.map((id, i) => {
    const dataDir = join(opts.dir, id);
    mkdirSync(join(dataDir, 'raft'), { recursive: true });
    const config = render('openbao.hcl', [
      [/^api_addr(\s*)= ".*"$/m, `api_addr$1= "${addresses[i]}"`],
      [/^cluster_addr(\s*)= ".*"$/m, `cluster_addr$1= "https://127.0.0.1:${cluster[i]}"`],
      [/node_id(\s*)= "vault-0"/, `node_id$1= "${id}"`],
      [/\/var\/lib\/openbao\/raft/g, join(dataDir, 'raft')],
      [/\/etc\/openbao\/tls\//g, `${tlsDir(id)}/`],
      [/https:\/\/vault-(\d)\.vault\.internal:8200/g, `https://127.0.0.1:PORT$1`],
      [/0\.0\.0\.0:8200/g, `127.0.0.1:${api[i]}`],
      [/0\.0\.0\.0:8201/g, `127.0.0.1:${cluster[i]}`],
    ]).replace(/127\.0\.0\.1:PORT(\d)/g, (_, n: string) => `127.0.0.1:${api[Number(n)]}`);
    return startNode(id, addresses[i], dataDir, config, sealFile, opts.seal);
  });
  const stop = async () => void (await Promise.all(nodes.map((n) => n.process.stop())));
  try {
    for (const n of nodes) await waitListening(n, caFile);
    const { rootToken } = await initNode(addresses[0], 'auto', undefined, caFile);
    const leader = vaultApi(addresses[0], { token: rootToken, caFile });
    const servers = async (client = leader): Promise<RaftServer[]> => ((await client.read('sys/storage/raft/configuration')).data.config.servers as RaftServer[]);
    await waitFor(
      '3 raft voters, every node unsealed',
      async () => {
        for (const n of nodes) n.process.assertAlive();
        const [list, health] = await Promise.all([servers(), Promise.all(addresses.map((a) => nodeHealth(a, caFile)))]);
        return list.length === 3 && list.every((s) => s.voter) && health.every((h) => h.state === 'active' || h.state === 'standby');
      },
      { timeoutMs: 120_000, intervalMs: 500 },
    );
    const active = async (timeoutMs = 60_000) =>
      waitFor('an active node', async () => (await Promise.all(addresses.map((a) => nodeHealth(a, caFile)))).find((h) => h.state === 'active')?.address, { timeoutMs, intervalMs: 200 });
    return {
      nodes,
      addresses,
      caFile,
      rootToken,
      configFiles: nodes.map((n) => [join(n.dataDir, 'openbao.hcl'), sealFile]),
      // Asked of whichever node leads now: after a step-down vault-0 may be a standby (which forwards, but may be mid-election).
      servers: async () => servers(vaultApi(await active(), { token: rootToken, caFile })),
      active,
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}
