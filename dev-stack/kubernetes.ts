import { randomBytes } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { join } from 'node:path';
import { cacheDir, requireBinary } from './paths';
import { freePort } from './ports';
import { ManagedProcess } from './supervisor';
import { waitFor } from './wait';
import { makeControlPlaneFiles, writeKubeconfig } from './kubernetes-files';

/** kwok's stage files and cert-manager's CRDs, copied from their module downloads by scripts/install/kubernetes.sh. */
export const kubernetesDataDir = join(cacheDir, 'kubernetes-data');

/** The name of the one fake node kwok manages; pods scheduled there become Running and Ready. */
export const FAKE_NODE = 'kwok-node-0';

export interface KubernetesStack {
  /** https://127.0.0.1:PORT */
  server: string;
  caFile: string;
  /** A kubeconfig for the admin user (system:masters), context "secdr-test". */
  kubeconfig: string;
  adminToken: string;
  processes: ManagedProcess[];
  /** An authenticated request to the API server as admin; resolves with status and parsed body. */
  api(method: string, path: string, body?: unknown, token?: string): Promise<{ status: number; body: unknown }>;
  /** Stops kwok, the controllers and the API server, then the storage under it. */
  stop(): Promise<void>;
}

/** Options for {@link startKubernetes}. */
export interface KubernetesStackOptions {
  /** Apply cert-manager's CRDs (Certificate, Issuer, …). Default true. */
  certManagerCrds?: boolean;
  /**
   * Also run kube-controller-manager, kube-scheduler and kwok's fake node, so workloads get
   * pods. Default true; RBAC and Certificate tests need only the API server and storage.
   */
  workloads?: boolean;
}

/**
 * A real Kubernetes control plane on loopback, the way controller-runtime's envtest runs
 * one: kine (SQLite) as storage, kube-apiserver with RBAC and a token file,
 * kube-controller-manager and kube-scheduler, and kwok driving one fake node so that
 * scaling a StatefulSet or Deployment is observable (pods become Ready). Every port is
 * free and on 127.0.0.1, kine's metrics included.
 */
export async function startKubernetes(dir: string, opts: KubernetesStackOptions = {}): Promise<KubernetesStack> {
  const workloads = opts.workloads !== false;
  const bins = {
    kine: requireBinary('kine'),
    apiserver: requireBinary('kubeApiserver'),
    ...(workloads ? { controllerManager: requireBinary('kubeControllerManager'), scheduler: requireBinary('kubeScheduler'), kwok: requireBinary('kwok') } : {}),
  };
  mkdirSync(dir, { recursive: true });
  const adminToken = randomBytes(24).toString('hex');
  const files = makeControlPlaneFiles(dir, adminToken);
  const [kinePort, kineMetricsPort, apiPort, cmPort, schedPort] = await Promise.all([freePort(), freePort(), freePort(), freePort(), freePort()]);
  const server = `https://127.0.0.1:${apiPort}`;
  const kubeconfig = writeKubeconfig(join(dir, 'admin.kubeconfig'), { server, caFile: files.caFile, token: adminToken });
  const processes: ManagedProcess[] = [];
  const launch = (name: string, command: string, args: string[]) => {
    const p = new ManagedProcess({ name, command, args, logFile: join(dir, `${name}.log`) }).start();
    processes.push(p);
    return p;
  };
  const ca = readFileSync(files.caFile);
  const api: KubernetesStack['api'] = (method, path, body, token = adminToken) => httpsJson(server, ca, token, method, path, body);

  const stack: KubernetesStack = {
    server,
    caFile: files.caFile,
    kubeconfig,
    adminToken,
    processes,
    api,
    // Newest first: kwok and the controllers, then the API server, then the storage under it.
    stop: async () => {
      for (const p of [...processes].reverse()) await p.stop();
    },
  };

  try {
    const kine = launch('kine', bins.kine, [
      '--endpoint', `sqlite://${join(dir, 'kine.db')}?_journal=WAL&cache=shared&_busy_timeout=30000`,
      '--listen-address', `127.0.0.1:${kinePort}`,
      '--metrics-bind-address', `127.0.0.1:${kineMetricsPort}`,
    ]);
    await waitFor('kine metrics endpoint', async () => {
      kine.assertAlive();
      return (await fetch(`http://127.0.0.1:${kineMetricsPort}/metrics`, { signal: AbortSignal.timeout(2000) })).ok;
    });

    const apiserver = launch('kube-apiserver', bins.apiserver, [
      `--etcd-servers=http://127.0.0.1:${kinePort}`,
      '--bind-address=127.0.0.1',
      '--advertise-address=127.0.0.1',
      // The kubernetes Service's endpoints may not point at loopback; nothing in-cluster needs them here.
      '--endpoint-reconciler-type=none',
      `--secure-port=${apiPort}`,
      `--cert-dir=${join(dir, 'apiserver-certs')}`,
      `--tls-cert-file=${files.certFile}`,
      `--tls-private-key-file=${files.keyFile}`,
      `--client-ca-file=${files.caFile}`,
      `--token-auth-file=${files.tokenFile}`,
      '--authorization-mode=Node,RBAC',
      '--service-account-issuer=https://kubernetes.default.svc.cluster.local',
      `--service-account-key-file=${files.serviceAccountPub}`,
      `--service-account-signing-key-file=${files.serviceAccountKey}`,
      '--service-cluster-ip-range=10.0.0.0/24',
      '--profiling=false',
      '--enable-priority-and-fairness=false',
    ]);
    await waitFor(
      'kube-apiserver /readyz',
      async () => {
        apiserver.assertAlive();
        return (await api('GET', '/readyz')).status === 200;
      },
      { timeoutMs: 180_000, intervalMs: 500 },
    );

    if (workloads) await startWorkloadControllers();
    if (opts.certManagerCrds !== false) await applyCertManagerCrds(api);
    writeFileSync(join(dir, 'versions.txt'), `kube-apiserver ${((await api('GET', '/version')).body as { gitVersion: string }).gitVersion}\n`);
    return stack;
  } catch (err) {
    await stack.stop();
    throw err;
  }

  async function startWorkloadControllers(): Promise<void> {
    const controllerKubeconfig = ['--kubeconfig', kubeconfig, '--authentication-kubeconfig', kubeconfig, '--authorization-kubeconfig', kubeconfig];
    const cm = launch('kube-controller-manager', bins.controllerManager!, [
      ...controllerKubeconfig,
      '--bind-address=127.0.0.1',
      `--secure-port=${cmPort}`,
      `--cert-dir=${join(dir, 'controller-manager-certs')}`,
      '--leader-elect=false',
      // The HPA controller would fight the tests' scaling; the tests only need HPA objects to exist.
      '--controllers=*,-horizontal-pod-autoscaler-controller',
      // kwok's fake node posts its status about once a minute (no kubelet lease); with the default
      // grace period it turns NotReady in between, its pods are marked NotReady and kwok never
      // marks them Ready again, so a test longer than a minute would lose its ready replicas.
      '--node-monitor-grace-period=10m',
      `--service-account-private-key-file=${files.serviceAccountKey}`,
      `--root-ca-file=${files.caFile}`,
      '--profiling=false',
    ]);
    const scheduler = launch('kube-scheduler', bins.scheduler!, [
      ...controllerKubeconfig,
      '--bind-address=127.0.0.1',
      `--secure-port=${schedPort}`,
      `--cert-dir=${join(dir, 'scheduler-certs')}`,
      '--leader-elect=false',
      '--profiling=false',
    ]);
    const stages = readdirSync(join(kubernetesDataDir, 'kwok-stages')).filter((f) => f.endsWith('.yaml'));
    const kwok = launch('kwok', bins.kwok!, [
      '--kubeconfig', kubeconfig,
      '--manage-all-nodes=false',
      '--manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake',
      '--cidr=10.244.0.0/24',
      '--node-ip=10.244.0.1',
      ...stages.flatMap((s) => ['--config', join(kubernetesDataDir, 'kwok-stages', s)]),
    ]);
    await Promise.all(
      [
        [cm, cmPort],
        [scheduler, schedPort],
      ].map(([p, port]) =>
        waitFor(
          `${(p as ManagedProcess).spec.name} /healthz`,
          async () => {
            (p as ManagedProcess).assertAlive();
            return (await httpsJson(`https://127.0.0.1:${port}`, undefined, undefined, 'GET', '/healthz')).status === 200;
          },
          { timeoutMs: 120_000, intervalMs: 500 },
        ),
      ),
    );

    const node = await api('POST', '/api/v1/nodes', fakeNode());
    if (node.status !== 201) throw new Error(`creating the fake node answered ${node.status}: ${JSON.stringify(node.body)}`);
    await waitFor(
      `kwok to mark node ${FAKE_NODE} Ready`,
      async () => {
        kwok.assertAlive();
        const n = (await api('GET', `/api/v1/nodes/${FAKE_NODE}`)).body as { status?: { conditions?: { type: string; status: string }[] } };
        return n.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True');
      },
      { timeoutMs: 60_000, intervalMs: 250 },
    );
    // Pods need the namespace's default ServiceAccount, made by the controller manager.
    await waitFor('the default ServiceAccount', async () => (await api('GET', '/api/v1/namespaces/default/serviceaccounts/default')).status === 200, {
      timeoutMs: 60_000,
    });
  }
}

function fakeNode() {
  const resources = { cpu: '32', memory: '256Gi', pods: '110' };
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: {
      name: FAKE_NODE,
      annotations: { 'kwok.x-k8s.io/node': 'fake', 'node.alpha.kubernetes.io/ttl': '0' },
      labels: { type: 'kwok', 'kubernetes.io/hostname': FAKE_NODE, 'kubernetes.io/os': 'linux', 'kubernetes.io/arch': 'amd64' },
    },
    status: { allocatable: resources, capacity: resources },
  };
}

async function applyCertManagerCrds(api: KubernetesStack['api']): Promise<void> {
  const { parseAllDocuments } = await import('yaml');
  const crdDir = join(kubernetesDataDir, 'cert-manager-crds');
  const names: string[] = [];
  for (const file of readdirSync(crdDir).filter((f) => f.endsWith('.yaml'))) {
    for (const doc of parseAllDocuments(readFileSync(join(crdDir, file), 'utf8'))) {
      const crd = doc.toJSON() as { kind?: string; metadata: { name: string } } | null;
      if (crd?.kind !== 'CustomResourceDefinition') continue;
      const res = await api('POST', '/apis/apiextensions.k8s.io/v1/customresourcedefinitions', crd);
      if (res.status !== 201 && res.status !== 409) throw new Error(`applying ${file} answered ${res.status}: ${JSON.stringify(res.body)}`);
      names.push(crd.metadata.name);
    }
  }
  for (const name of names) {
    await waitFor(`CRD ${name} Established`, async () => {
      const crd = (await api('GET', `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${name}`)).body as {
        status?: { conditions?: { type: string; status: string }[] };
      };
      return crd.status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True');
    });
  }
}

/** One HTTPS request with a JSON body; `ca` undefined means the server's self-signed certificate is accepted (health probes only). */
function httpsJson(base: string, ca: Buffer | undefined, token: string | undefined, method: string, path: string, body?: unknown): Promise<{ status: number; body: unknown }> {
  return new Promise((resolve, reject) => {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const req = request(
      `${base}${path}`,
      {
        method,
        ca,
        rejectUnauthorized: ca !== undefined,
        timeout: 10_000,
        headers: {
          accept: 'application/json',
          ...(token ? { authorization: `Bearer ${token}` } : {}),
          ...(payload ? { 'content-type': method === 'PATCH' ? 'application/merge-patch+json' : 'application/json' } : {}),
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let parsed: unknown = text;
          try {
            parsed = JSON.parse(text);
          } catch {
            /* plain text (healthz) */
          }
          resolve({ status: res.statusCode ?? 0, body: parsed });
        });
      },
    );
    req.on('timeout', () => req.destroy(new Error(`${method} ${base}${path} timed out`)));
    req.on('error', reject);
    req.end(payload);
  });
}
