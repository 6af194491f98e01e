import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parse, parseAllDocuments } from 'yaml';
import { ApplicationFailure } from '@temporalio/common';
import { parseConfig } from '../../lib/config/load';
import { componentConfig } from '../../lib/config/components';
import { startKubernetes, type KubernetesStack } from '../../dev-stack/kubernetes';
import { writeKubeconfig } from '../../dev-stack/kubernetes-files';
import { processAlive } from '../../dev-stack/kubernetes-workloads';
import { platformFor } from '../../lib/platform';
import { readCertificate, requestRenewal } from '../../lib/platform/cert-manager';
import { tempDir } from '../harness/temp';

const deployDir = resolve(__dirname, '..', '..', 'deploy', 'kubernetes');
const SA = 'system:serviceaccount:secdr:secdr-worker';

/** Where each kind of object in deploy/kubernetes/ is created. */
function collection(kind: string, ns?: string): string {
  const core = (plural: string) => (ns ? `/api/v1/namespaces/${ns}/${plural}` : `/api/v1/${plural}`);
  const named = (group: string, plural: string) => `/apis/${group}/namespaces/${ns}/${plural}`;
  switch (kind) {
    case 'Namespace':
      return core('namespaces');
    case 'ServiceAccount':
      return core('serviceaccounts');
    case 'ConfigMap':
      return core('configmaps');
    case 'Role':
      return named('rbac.authorization.k8s.io/v1', 'roles');
    case 'RoleBinding':
      return named('rbac.authorization.k8s.io/v1', 'rolebindings');
    case 'Deployment':
      return named('apps/v1', 'deployments');
    default:
      throw new Error(`deploy/kubernetes has a ${kind}, which this test does not know how to create`);
  }
}

describe('deploy/kubernetes applied to a real kube-apiserver: the worker account can do what drills need and nothing more', function () {
  this.timeout(300_000);
  const tmp = tempDir('k8s-rbac');
  let k8s: KubernetesStack;
  let pids: number[] = [];
  let saKubeconfig: string;

  async function can(verb: string, resource: string, opts: { namespace?: string; name?: string; subresource?: string; group?: string } = {}): Promise<boolean> {
    const res = await k8s.api('POST', '/apis/authorization.k8s.io/v1/subjectaccessreviews', {
      apiVersion: 'authorization.k8s.io/v1',
      kind: 'SubjectAccessReview',
      spec: {
        user: SA,
        groups: ['system:serviceaccounts', 'system:serviceaccounts:secdr', 'system:authenticated'],
        resourceAttributes: { verb, resource, namespace: opts.namespace ?? 'logging', name: opts.name, subresource: opts.subresource, group: opts.group ?? '' },
      },
    });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    return (res.body as { status: { allowed: boolean } }).status.allowed;
  }

  before(async () => {
    k8s = await startKubernetes(join(tmp.dir, 'k8s'), { workloads: false });
    pids = k8s.processes.map((p) => p.pid!);
    await k8s.api('POST', '/api/v1/namespaces', { metadata: { name: 'logging' } });
    const kustomization = parse(readFileSync(join(deployDir, 'kustomization.yaml'), 'utf8')) as { resources: string[] };
    for (const file of kustomization.resources) {
      for (const doc of parseAllDocuments(readFileSync(join(deployDir, file), 'utf8'))) {
        const obj = doc.toJSON() as { kind: string; metadata: { namespace?: string } };
        const res = await k8s.api('POST', collection(obj.kind, obj.metadata.namespace), obj);
        assert.equal(res.status, 201, `${file}: ${JSON.stringify(res.body)}`);
      }
    }
    // Workloads the drills scale (named in role.yaml) and one they must not touch; no pods are needed for RBAC.
    for (const name of ['victorialogs-primary', 'unrelated-database']) {
      const res = await k8s.api('POST', '/apis/apps/v1/namespaces/logging/statefulsets', {
        metadata: { name },
        spec: { replicas: 0, serviceName: name, selector: { matchLabels: { app: name } }, template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: 'c', image: 'x' }] } } },
      });
      assert.equal(res.status, 201, JSON.stringify(res.body));
    }
    await k8s.api('POST', '/api/v1/namespaces/logging/secrets', { metadata: { name: 'logs-tls' }, stringData: { 'tls.key': 'not a real key' } });
    const token = await k8s.api('POST', '/api/v1/namespaces/secdr/serviceaccounts/secdr-worker/token', { spec: { expirationSeconds: 3600 } });
    assert.equal(token.status, 201, JSON.stringify(token.body));
    saKubeconfig = writeKubeconfig(join(tmp.dir, 'worker.kubeconfig'), {
      server: k8s.server,
      caFile: k8s.caFile,
      token: (token.body as { status: { token: string } }).status.token,
      user: 'secdr-worker',
    });
  });

  after(async () => {
    await k8s?.stop();
    const left = pids.filter(processAlive);
    tmp.cleanup();
    assert.deepEqual(left, [], 'kine and the API server are stopped');
  });

  it('the ConfigMap holds a config secdr accepts, with credentials as file references only', () => {
    const cm = parse(readFileSync(join(deployDir, 'configmap.yaml'), 'utf8')) as { data: Record<string, string> };
    const config = parseConfig(parse(cm.data['secdr.yaml']), 'deploy/kubernetes/configmap.yaml');
    assert.deepEqual(config.codec.key, { file: '/etc/secdr/secrets/codec.key' });
    assert.deepEqual(config.components.map((c) => c.name), ['logs-primary', 'logs-secondary']);
    assert.equal(config.metrics.host, '0.0.0.0');
  });

  it('allows exactly what the drills need: get the named workloads, get/update their scale, list HPAs, get Certificates, patch their status', async () => {
    const allowed: [string, string, Parameters<typeof can>[2]][] = [
      ['get', 'statefulsets', { group: 'apps', name: 'victorialogs-primary' }],
      ['get', 'statefulsets', { group: 'apps', name: 'victorialogs-primary', subresource: 'scale' }],
      ['update', 'statefulsets', { group: 'apps', name: 'victorialogs-primary', subresource: 'scale' }],
      ['update', 'deployments', { group: 'apps', name: 'victorialogs-secondary', subresource: 'scale' }],
      ['list', 'horizontalpodautoscalers', { group: 'autoscaling' }],
      ['get', 'certificates', { group: 'cert-manager.io', name: 'logs-tls' }],
      ['patch', 'certificates', { group: 'cert-manager.io', name: 'logs-tls', subresource: 'status' }],
    ];
    for (const [verb, resource, opts] of allowed) assert.equal(await can(verb, resource, opts), true, `${verb} ${resource} ${JSON.stringify(opts)}`);
  });

  it('denies everything else: Secrets, other workloads, the workload spec, pods, other namespaces, anything cluster-wide', async () => {
    const denied: [string, string, Parameters<typeof can>[2]][] = [
      ['get', 'secrets', { name: 'logs-tls' }],
      ['list', 'secrets', {}],
      ['get', 'secrets', { namespace: 'secdr', name: 'secdr-secrets' }],
      ['update', 'statefulsets', { group: 'apps', name: 'unrelated-database', subresource: 'scale' }],
      ['get', 'statefulsets', { group: 'apps', name: 'unrelated-database' }],
      ['patch', 'statefulsets', { group: 'apps', name: 'victorialogs-primary' }],
      ['delete', 'statefulsets', { group: 'apps', name: 'victorialogs-primary' }],
      ['list', 'statefulsets', { group: 'apps' }],
      ['delete', 'pods', {}],
      ['create', 'pods', { subresource: 'exec', name: 'victorialogs-primary-0' }],
      ['update', 'statefulsets', { group: 'apps', namespace: 'default', name: 'victorialogs-primary', subresource: 'scale' }],
      ['patch', 'certificates', { group: 'cert-manager.io', name: 'logs-tls' }],
      ['delete', 'certificates', { group: 'cert-manager.io', name: 'logs-tls' }],
      ['create', 'horizontalpodautoscalers', { group: 'autoscaling' }],
      ['list', 'nodes', { namespace: '' }],
      ['get', 'namespaces', { namespace: '', name: 'logging' }],
      ['create', 'rolebindings', { group: 'rbac.authorization.k8s.io' }],
    ];
    for (const [verb, resource, opts] of denied) assert.equal(await can(verb, resource, opts), false, `${verb} ${resource} ${JSON.stringify(opts)}`);
  });

  it("a dry run's preflight passes with the shipped Role and names the missing grant for a read-only account, scaling nothing", async () => {
    const primary = componentConfig.parse({ name: 'logs-primary', platform: { type: 'kubernetes', kind: 'StatefulSet', namespace: 'logging', name: 'victorialogs-primary', kubeconfig: saKubeconfig } });
    assert.match(await platformFor(primary).preflight!(), /^may scale StatefulSet logging\/victorialogs-primary/);

    // An account that may read the workload and its scale but not update it: a read alone cannot tell.
    const ns = '/api/v1/namespaces/secdr/serviceaccounts';
    assert.equal((await k8s.api('POST', ns, { metadata: { name: 'secdr-readonly' } })).status, 201);
    const role = await k8s.api('POST', '/apis/rbac.authorization.k8s.io/v1/namespaces/logging/roles', {
      metadata: { name: 'secdr-readonly' },
      rules: [
        { apiGroups: ['apps'], resources: ['statefulsets', 'statefulsets/scale'], resourceNames: ['victorialogs-primary'], verbs: ['get'] },
        { apiGroups: ['autoscaling'], resources: ['horizontalpodautoscalers'], verbs: ['list'] },
      ],
    });
    assert.equal(role.status, 201, JSON.stringify(role.body));
    const binding = await k8s.api('POST', '/apis/rbac.authorization.k8s.io/v1/namespaces/logging/rolebindings', {
      metadata: { name: 'secdr-readonly' },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'secdr-readonly' },
      subjects: [{ kind: 'ServiceAccount', name: 'secdr-readonly', namespace: 'secdr' }],
    });
    assert.equal(binding.status, 201, JSON.stringify(binding.body));
    const token = await k8s.api('POST', `${ns}/secdr-readonly/token`, { spec: { expirationSeconds: 3600 } });
    const readonlyKubeconfig = writeKubeconfig(join(tmp.dir, 'readonly.kubeconfig'), {
      server: k8s.server,
      caFile: k8s.caFile,
      token: (token.body as { status: { token: string } }).status.token,
      user: 'secdr-readonly',
    });
    const readonly = componentConfig.parse({ name: 'logs-primary', platform: { type: 'kubernetes', kind: 'StatefulSet', namespace: 'logging', name: 'victorialogs-primary', kubeconfig: readonlyKubeconfig } });
    assert.deepEqual((await platformFor(readonly).status()).replicas, { desired: 0, ready: 0 }, 'its status read is allowed');
    const err = await platformFor(readonly).preflight!().then(() => undefined, (e: unknown) => e);
    assert.ok(err instanceof ApplicationFailure, String(err));
    assert.equal(err.type, 'InvalidInput');
    assert.match(err.message, /^component logs-primary: not allowed to update statefulsets\/scale of StatefulSet logging\/victorialogs-primary.*grant verbs \[get, update\] on statefulsets\/scale for victorialogs-primary in the worker's Role \(deploy\/kubernetes\/role\.yaml\)/);
    const after = await k8s.api('GET', '/apis/apps/v1/namespaces/logging/statefulsets/victorialogs-primary/scale');
    // Scale's replicas is omitempty: absent means 0.
    assert.equal((after.body as { spec: { replicas?: number } }).spec.replicas ?? 0, 0, `nothing was scaled: ${JSON.stringify(after.body)}`);
  });

  it("with the ServiceAccount's own token: reads and scales the named StatefulSet, reads a Certificate, and is refused a Secret and an unnamed StatefulSet", async () => {
    const primary = componentConfig.parse({ name: 'logs-primary', platform: { type: 'kubernetes', kind: 'StatefulSet', namespace: 'logging', name: 'victorialogs-primary', kubeconfig: saKubeconfig } });
    const state = await platformFor(primary).status();
    assert.deepEqual(state.replicas, { desired: 0, ready: 0 });
    const record = await platformFor(primary).stop();
    assert.equal(record.wasStopped, true, 'scale read through the scale subresource: it is at 0');

    const other = componentConfig.parse({ name: 'db', platform: { type: 'kubernetes', kind: 'StatefulSet', namespace: 'logging', name: 'unrelated-database', kubeconfig: saKubeconfig } });
    const err = await platformFor(other).status().then(() => undefined, (e: unknown) => e);
    assert.ok(err instanceof ApplicationFailure);
    assert.equal(err.type, 'InvalidInput');
    assert.match(err.message, /^component db: forbidden to get StatefulSet logging\/unrelated-database \(.*system:serviceaccount:secdr:secdr-worker.* cannot get resource "statefulsets".*\); grant it in the worker's Role \(deploy\/kubernetes\/role\.yaml\)/);

    const token = (parse(readFileSync(saKubeconfig, 'utf8')) as { users: { user: { token: string } }[] }).users[0].user.token;
    const secret = await k8s.api('GET', '/api/v1/namespaces/logging/secrets/logs-tls', undefined, token);
    assert.equal(secret.status, 403);
    assert.match((secret.body as { message: string }).message, /cannot get resource "secrets"/);

    await k8s.api('POST', '/apis/cert-manager.io/v1/namespaces/logging/certificates', {
      apiVersion: 'cert-manager.io/v1',
      kind: 'Certificate',
      metadata: { name: 'logs-tls' },
      spec: { secretName: 'logs-tls', dnsNames: ['logs.example'], issuerRef: { name: 'internal-ca' } },
    });
    const ref = { kubeconfig: saKubeconfig, namespace: 'logging', name: 'logs-tls', who: 'component logs-primary' };
    assert.equal((await readCertificate(ref)).secretName, 'logs-tls');
    assert.equal((await requestRenewal(ref)).issuingReason, 'ManuallyTriggered', 'certificates/status patch is allowed');
  });
});
