import type { KubernetesStack } from './kubernetes';
import { waitFor } from './wait';

/** Creates a StatefulSet or Deployment whose pods run on the kwok node, and waits until all are ready. */
export async function createWorkload(k8s: KubernetesStack, kind: 'StatefulSet' | 'Deployment', namespace: string, name: string, replicas: number): Promise<void> {
  const plural = kind === 'StatefulSet' ? 'statefulsets' : 'deployments';
  const res = await k8s.api('POST', `/apis/apps/v1/namespaces/${namespace}/${plural}`, {
    apiVersion: 'apps/v1',
    kind,
    metadata: { name },
    spec: {
      replicas,
      ...(kind === 'StatefulSet' ? { serviceName: name } : {}),
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name } },
        spec: {
          nodeSelector: { type: 'kwok' },
          automountServiceAccountToken: false,
          containers: [{ name: 'server', image: 'victoriametrics/victoria-logs:v1.52.1' }],
        },
      },
    },
  });
  if (res.status !== 201) throw new Error(`creating ${kind} ${namespace}/${name} answered ${res.status}: ${JSON.stringify(res.body)}`);
  await waitFor(`${kind} ${namespace}/${name} ${replicas} ready`, async () => {
    const w = (await k8s.api('GET', `/apis/apps/v1/namespaces/${namespace}/${plural}/${name}`)).body as { status?: { readyReplicas?: number; replicas?: number } };
    return (w.status?.readyReplicas ?? 0) === replicas && (w.status?.replicas ?? 0) === replicas;
  }, { timeoutMs: 60_000, intervalMs: 250 });
}

export { processAlive } from './supervisor';
