import { existsSync } from 'node:fs';
import type * as K8s from '@kubernetes/client-node';
import { fail, FailureType } from '../fail';

/** Where the cluster connection comes from: a kubeconfig file (+ context), else in-cluster, else $KUBECONFIG / ~/.kube/config. */
export interface KubernetesConnection {
  kubeconfig?: string;
  context?: string;
}

export interface KubernetesClients {
  k8s: typeof K8s;
  kc: K8s.KubeConfig;
  apps: K8s.AppsV1Api;
  autoscaling: K8s.AutoscalingV2Api;
  authorization: K8s.AuthorizationV1Api;
  core: K8s.CoreV1Api;
  custom: K8s.CustomObjectsApi;
  /** The API server's address, for messages. */
  server: string;
  /** Where the connection came from, for messages: "kubeconfig /x (context y)" or "in-cluster config". */
  source: string;
}

const SERVICE_ACCOUNT_TOKEN = '/var/run/secrets/kubernetes.io/serviceaccount/token';

/**
 * Loads the connection `who` (e.g. "component logs-primary") uses. Every way it can be
 * wrong fails as InvalidInput saying which file or context and how to fix it.
 */
export async function kubernetesClients(conn: KubernetesConnection, who: string): Promise<KubernetesClients> {
  // client-node is an ES module; loading it here keeps it out of processes that never talk to Kubernetes.
  const k8s = await import('@kubernetes/client-node');
  const kc = new k8s.KubeConfig();
  let source: string;
  if (conn.kubeconfig) {
    if (!existsSync(conn.kubeconfig)) {
      throw fail(FailureType.InvalidInput, `${who}: platform.kubeconfig ${conn.kubeconfig} does not exist; give the path of a kubeconfig file readable by the worker, or leave it out to use the in-cluster config`);
    }
    try {
      kc.loadFromFile(conn.kubeconfig);
    } catch (err) {
      throw fail(
        FailureType.InvalidInput,
        `${who}: platform.kubeconfig ${conn.kubeconfig} does not load (${firstLine(err)}); check it with \`kubectl config view --kubeconfig ${conn.kubeconfig}\``,
      );
    }
    source = `kubeconfig ${conn.kubeconfig}`;
  } else if (process.env.KUBERNETES_SERVICE_HOST && existsSync(SERVICE_ACCOUNT_TOKEN)) {
    kc.loadFromCluster();
    source = 'in-cluster config';
  } else {
    try {
      kc.loadFromDefault();
    } catch (err) {
      throw fail(FailureType.InvalidInput, `${who}: the default kubeconfig ($KUBECONFIG or ~/.kube/config) does not load (${firstLine(err)}); set platform.kubeconfig`);
    }
    source = process.env.KUBECONFIG ? `kubeconfig $KUBECONFIG=${process.env.KUBECONFIG}` : 'kubeconfig ~/.kube/config';
  }
  if (conn.context) {
    const contexts = kc.getContexts().map((c) => c.name);
    if (!contexts.includes(conn.context)) {
      throw fail(
        FailureType.InvalidInput,
        `${who}: platform.context "${conn.context}" is not in ${source}; its contexts: ${contexts.join(', ') || '(none)'}; fix platform.context or the kubeconfig`,
      );
    }
    kc.setCurrentContext(conn.context);
    source += ` (context ${conn.context})`;
  }
  const cluster = kc.getCurrentCluster();
  if (!cluster?.server) {
    throw fail(
      FailureType.InvalidInput,
      `${who}: ${source} names no cluster for its current context ("${kc.getCurrentContext() || 'none'}"); set current-context in the kubeconfig or platform.context`,
    );
  }
  return {
    k8s,
    kc,
    apps: kc.makeApiClient(k8s.AppsV1Api),
    autoscaling: kc.makeApiClient(k8s.AutoscalingV2Api),
    authorization: kc.makeApiClient(k8s.AuthorizationV1Api),
    core: kc.makeApiClient(k8s.CoreV1Api),
    custom: kc.makeApiClient(k8s.CustomObjectsApi),
    server: cluster.server,
    source,
  };
}

/** The HTTP status of a client-node ApiException, or undefined for anything else (network errors). */
export function apiStatus(err: unknown): number | undefined {
  const code = (err as { code?: unknown }).code;
  return err instanceof Error && err.constructor.name === 'ApiException' && typeof code === 'number' ? code : undefined;
}

/** The API server's own message in an ApiException (its Status object), without headers or tokens. */
export function apiMessage(err: unknown): string {
  const body = (err as { body?: unknown }).body;
  let parsed: unknown = body;
  if (typeof body === 'string') {
    try {
      parsed = JSON.parse(body);
    } catch {
      return body.slice(0, 300);
    }
  }
  const message = (parsed as { message?: unknown } | undefined)?.message;
  return typeof message === 'string' ? message : `HTTP ${apiStatus(err) ?? '?'}`;
}

/**
 * Turns a failed API call into a typed failure: 401/403 are configuration (credentials,
 * RBAC) and final; anything else (unreachable server, 5xx, conflicts) may pass, so retryable.
 */
export function apiFailure(err: unknown, c: Pick<KubernetesClients, 'server' | 'source'>, who: string, action: string) {
  const status = apiStatus(err);
  if (status === 401) {
    return fail(FailureType.InvalidInput, `${who}: the API server ${c.server} rejected the credentials from ${c.source} (401) while trying to ${action}; refresh the token or kubeconfig`);
  }
  if (status === 403) {
    return fail(
      FailureType.InvalidInput,
      `${who}: forbidden to ${action} (${apiMessage(err)}); grant it in the worker's Role (deploy/kubernetes/role.yaml) or fix the names in the config`,
    );
  }
  if (status !== undefined) {
    return fail(FailureType.PlatformActionFailed, `${who}: ${action} failed on ${c.server}: HTTP ${status}: ${apiMessage(err)}`, { status });
  }
  return fail(FailureType.PlatformActionFailed, `${who}: cannot reach the API server ${c.server} (${c.source}) to ${action}: ${causeOf(err)}`);
}

function causeOf(err: unknown): string {
  const cause = (err as { cause?: { code?: string; message?: string } }).cause;
  return [firstLine(err), cause?.code ?? cause?.message].filter(Boolean).join(': ');
}

function firstLine(err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).split('\n')[0].slice(0, 300);
}
