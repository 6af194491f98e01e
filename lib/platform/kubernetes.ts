import { setTimeout as sleep } from 'node:timers/promises';
import type * as K8s from '@kubernetes/client-node';
import type { ComponentConfig } from '../config/components';
import { fail, FailureType } from '../fail';
import type { ComponentState, PlatformAdapter, StopHooks, StopRecord } from './adapter';
import { apiFailure, apiStatus, kubernetesClients, type KubernetesClients } from './kubernetes-client';
import type { AdapterOptions } from './options';

export type KubernetesPlatform = Extract<ComponentConfig['platform'], { type: 'kubernetes' }>;

/** Options of the Kubernetes adapter beyond the common ones. */
export interface KubernetesAdapterOptions extends AdapterOptions {
  /** Milliseconds between rollout checks. Default 500. */
  pollMs?: number;
}

type Workload = K8s.V1StatefulSet | K8s.V1Deployment;

/**
 * Scales a StatefulSet or Deployment to 0 and back through the scale subresource, and
 * waits for the rollout (observed generation, ready replicas). The replica count it had
 * goes into the StopRecord, so the compensation restores exactly that. A resource a
 * HorizontalPodAutoscaler targets is refused unless `allowHpa` (the HPA would scale it back).
 */
export class KubernetesAdapter implements PlatformAdapter {
  private clients?: KubernetesClients;
  private readonly who: string;
  private readonly ref: string;

  constructor(
    private readonly name: string,
    private readonly cfg: KubernetesPlatform,
    private readonly opts: KubernetesAdapterOptions = {},
  ) {
    this.who = `component ${name}`;
    this.ref = `${cfg.kind} ${cfg.namespace}/${cfg.name}`;
  }

  async status(): Promise<ComponentState> {
    return this.stateOf(await this.read());
  }

  async stop(hooks: StopHooks = {}): Promise<StopRecord> {
    const c = await this.connect();
    await this.read();
    await this.refuseHpa(c);
    const scale = await this.readScale(c);
    const previous = scale.spec?.replicas ?? 0;
    const record: StopRecord = { component: this.name, adapter: 'kubernetes', stoppedAt: new Date().toISOString(), previousReplicas: previous };
    if (previous === 0) return { ...record, wasStopped: true };
    hooks.beforeStop?.(record);
    await this.writeScale(c, 0);
    await this.waitRollout(0);
    return record;
  }

  async start(record?: StopRecord): Promise<ComponentState> {
    if (record?.wasStopped) return this.status();
    const target = record?.previousReplicas;
    if (target === undefined) {
      throw fail(
        FailureType.InvalidInput,
        `${this.who}: starting ${this.ref} needs the StopRecord of its stop (the replica count it had); pass the record stopComponent returned`,
      );
    }
    const c = await this.connect();
    await this.read();
    if ((await this.readScale(c)).spec?.replicas !== target) await this.writeScale(c, target);
    return this.stateOf(await this.waitRollout(target));
  }

  /**
   * What stop() and start() need, asked without scaling anything: the workload and its scale
   * can be read, no HPA controls it, and the API server's own SelfSubjectAccessReview says this
   * identity may update the scale subresource (the one grant a read cannot prove).
   */
  async preflight(): Promise<string> {
    const c = await this.connect();
    await this.read();
    await this.readScale(c);
    await this.refuseHpa(c);
    const resource = this.cfg.kind === 'StatefulSet' ? 'statefulsets' : 'deployments';
    const review = await this.call(`ask whether it may update ${resource}/scale of ${this.ref}`, () =>
      c.authorization.createSelfSubjectAccessReview({
        body: {
          apiVersion: 'authorization.k8s.io/v1',
          kind: 'SelfSubjectAccessReview',
          spec: { resourceAttributes: { group: 'apps', resource, subresource: 'scale', verb: 'update', namespace: this.cfg.namespace, name: this.cfg.name } },
        },
      }),
    );
    if (!review.status?.allowed) {
      throw fail(
        FailureType.InvalidInput,
        `${this.who}: not allowed to update ${resource}/scale of ${this.ref}${review.status?.reason ? ` (${review.status.reason})` : ''}, so the drill could stop nothing; ` +
          `grant verbs [get, update] on ${resource}/scale for ${this.cfg.name} in the worker's Role (deploy/kubernetes/role.yaml)`,
      );
    }
    return `may scale ${this.ref} (get, scale get/update, no HPA${this.cfg.allowHpa ? ' check: allowHpa' : ''})`;
  }

  private async connect(): Promise<KubernetesClients> {
    this.clients ??= await kubernetesClients({ kubeconfig: this.cfg.kubeconfig, context: this.cfg.context }, this.who);
    return this.clients;
  }

  private async call<T>(action: string, run: (c: KubernetesClients) => Promise<T>): Promise<T> {
    const c = await this.connect();
    try {
      return await run(c);
    } catch (err) {
      if (apiStatus(err) === 404) throw await this.notFound(c);
      throw apiFailure(err, c, this.who, action);
    }
  }

  private read(): Promise<Workload> {
    const { namespace, name } = this.cfg;
    return this.call<Workload>(`get ${this.ref}`, (c) =>
      this.cfg.kind === 'StatefulSet' ? c.apps.readNamespacedStatefulSet({ namespace, name }) : c.apps.readNamespacedDeployment({ namespace, name }),
    );
  }

  private readScale(c: KubernetesClients): Promise<K8s.V1Scale> {
    const { namespace, name } = this.cfg;
    return this.call(`get the scale of ${this.ref}`, () =>
      this.cfg.kind === 'StatefulSet' ? c.apps.readNamespacedStatefulSetScale({ namespace, name }) : c.apps.readNamespacedDeploymentScale({ namespace, name }),
    );
  }

  /** PUT on the scale subresource with the resourceVersion just read: a concurrent change is a conflict, read again. */
  private async writeScale(c: KubernetesClients, replicas: number): Promise<void> {
    const { namespace, name } = this.cfg;
    for (let attempt = 1; ; attempt++) {
      const scale = await this.readScale(c);
      const body = { ...scale, spec: { ...scale.spec, replicas } };
      try {
        await (this.cfg.kind === 'StatefulSet'
          ? c.apps.replaceNamespacedStatefulSetScale({ namespace, name, body })
          : c.apps.replaceNamespacedDeploymentScale({ namespace, name, body }));
        return;
      } catch (err) {
        if (apiStatus(err) === 409 && attempt < 5) continue;
        if (apiStatus(err) === 404) throw await this.notFound(c);
        throw apiFailure(err, c, this.who, `scale ${this.ref} to ${replicas}`);
      }
    }
  }

  private async refuseHpa(c: KubernetesClients): Promise<void> {
    if (this.cfg.allowHpa) return;
    const list = await this.call(`list HorizontalPodAutoscalers in namespace ${this.cfg.namespace}`, () =>
      c.autoscaling.listNamespacedHorizontalPodAutoscaler({ namespace: this.cfg.namespace }),
    );
    const hpa = list.items.find((h) => h.spec?.scaleTargetRef.kind === this.cfg.kind && h.spec.scaleTargetRef.name === this.cfg.name);
    if (hpa) {
      throw fail(
        FailureType.InvalidInput,
        `${this.who}: ${this.ref} is controlled by HorizontalPodAutoscaler ${this.cfg.namespace}/${hpa.metadata?.name} ` +
          `(minReplicas ${hpa.spec?.minReplicas ?? 1}), which would scale it back up during the drill; ` +
          'set platform.allowHpa: true to scale it anyway, or suspend the HPA first',
      );
    }
  }

  /** Rolled out: the controller saw the latest spec and exactly `target` replicas exist, all ready. */
  private async waitRollout(target: number): Promise<Workload> {
    const deadline = Date.now() + this.cfg.rolloutTimeoutSeconds * 1000;
    for (;;) {
      const w = await this.read();
      const s = w.status;
      const observed = (s?.observedGeneration ?? 0) >= (w.metadata?.generation ?? 0);
      if (observed && (s?.replicas ?? 0) === target && (s?.readyReplicas ?? 0) === target) return w;
      if (Date.now() > deadline) {
        throw fail(
          FailureType.PlatformActionFailed,
          `${this.who}: ${this.ref} did not roll out to ${target} replicas within ${this.cfg.rolloutTimeoutSeconds} s ` +
            `(platform.rolloutTimeoutSeconds): ${s?.replicas ?? 0} exist, ${s?.readyReplicas ?? 0} ready, observed generation ${s?.observedGeneration ?? 0} of ${w.metadata?.generation ?? 0}`,
          { target, replicas: s?.replicas ?? 0, readyReplicas: s?.readyReplicas ?? 0 },
        );
      }
      this.opts.signal?.throwIfAborted();
      await sleep(this.opts.pollMs ?? 500);
    }
  }

  /** Which of namespace and resource is missing, and how to fix it. */
  private async notFound(c: KubernetesClients) {
    let namespaceMissing: boolean | undefined;
    try {
      await c.core.readNamespace({ name: this.cfg.namespace });
      namespaceMissing = false;
    } catch (err) {
      // The worker's Role may not read namespaces (403): then say both.
      if (apiStatus(err) === 404) namespaceMissing = true;
    }
    if (namespaceMissing) {
      return fail(
        FailureType.InvalidInput,
        `${this.who}: namespace "${this.cfg.namespace}" does not exist on ${c.server} (${c.source}); fix platform.namespace or the kubeconfig/context`,
      );
    }
    return fail(
      FailureType.InvalidInput,
      `${this.who}: ${this.ref} does not exist on ${c.server} (${c.source})${namespaceMissing === undefined ? ' (or its namespace does not)' : ''}; ` +
        'fix platform.kind, platform.name or platform.namespace',
    );
  }

  private stateOf(w: Workload): ComponentState {
    const desired = w.spec?.replicas ?? 1;
    const ready = w.status?.readyReplicas ?? 0;
    const observed = (w.status?.observedGeneration ?? 0) >= (w.metadata?.generation ?? 0);
    return {
      component: this.name,
      running: desired > 0 && observed && ready >= desired,
      detail: `${this.ref} ${ready}/${desired} ready`,
      replicas: { desired, ready },
    };
  }
}
