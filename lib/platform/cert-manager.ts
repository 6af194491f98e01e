import { fail, FailureType } from '../fail';
import { apiFailure, apiStatus, kubernetesClients, type KubernetesConnection } from './kubernetes-client';

const GROUP = 'cert-manager.io';
const VERSION = 'v1';
const PLURAL = 'certificates';

export interface Condition {
  type: string;
  status: string;
  reason?: string;
  message?: string;
  lastTransitionTime?: string;
  observedGeneration?: number;
}

interface CertificateObject {
  metadata: { name: string; namespace: string; generation?: number; resourceVersion?: string };
  spec: { secretName: string; issuerRef: { name: string; kind?: string; group?: string } };
  status?: { conditions?: Condition[]; notAfter?: string; notBefore?: string; renewalTime?: string; revision?: number };
}

/** What a drill records about a cert-manager Certificate (plain data: no key material, the Secret is only named). */
export interface CertificateStatus {
  namespace: string;
  name: string;
  /** Ready condition: "True", "False" or "Unknown" (no condition yet). */
  ready: string;
  readyReason?: string;
  readyMessage?: string;
  /** A (re-)issuance is in progress. */
  issuing: boolean;
  /** Reason of the Issuing condition, True or False ("Failed" after a failed issuance: how a renewal failure shows). */
  issuingReason?: string;
  issuingMessage?: string;
  notAfter?: string;
  notBefore?: string;
  renewalTime?: string;
  revision?: number;
  issuer: { kind: string; name: string; group: string };
  secretName: string;
}

/** Which Certificate, through which connection; `who` names the config entry in messages. */
export interface CertificateRef extends KubernetesConnection {
  namespace: string;
  name: string;
  who: string;
}

/** Reads a cert-manager Certificate's spec and status. */
export async function readCertificate(ref: CertificateRef): Promise<CertificateStatus> {
  return toStatus(await getCertificate(ref));
}

/**
 * Requests a renewal the way `cmctl renew` does: the Issuing condition set to True with
 * reason ManuallyTriggered on the status subresource; cert-manager's controller then
 * issues a new certificate. Returns the status after the request; `alreadyIssuing` when a
 * renewal was already under way (nothing written).
 */
export async function requestRenewal(ref: CertificateRef): Promise<CertificateStatus & { alreadyIssuing: boolean }> {
  const c = await kubernetesClients(ref, ref.who);
  const crt = await getCertificate(ref);
  const conditions = crt.status?.conditions ?? [];
  if (conditions.some((x) => x.type === 'Issuing' && x.status === 'True')) return { ...toStatus(crt), alreadyIssuing: true };
  const issuing: Condition = {
    type: 'Issuing',
    status: 'True',
    reason: 'ManuallyTriggered',
    message: 'Certificate re-issuance manually triggered',
    lastTransitionTime: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
    observedGeneration: crt.metadata.generation,
  };
  // A merge patch replaces the whole list, so it carries every other condition; the
  // resourceVersion makes a concurrent status change a conflict instead of a lost update.
  const body = {
    metadata: { resourceVersion: crt.metadata.resourceVersion },
    status: { conditions: [...conditions.filter((x) => x.type !== 'Issuing'), issuing] },
  };
  try {
    const patched = (await c.custom.patchNamespacedCustomObjectStatus(
      { group: GROUP, version: VERSION, namespace: ref.namespace, plural: PLURAL, name: ref.name, body },
      c.k8s.setHeaderOptions('Content-Type', c.k8s.PatchStrategy.MergePatch),
    )) as CertificateObject;
    return { ...toStatus(patched), alreadyIssuing: false };
  } catch (err) {
    if (apiStatus(err) === 404) throw notFound(ref);
    throw apiFailure(err, c, ref.who, `request a renewal of Certificate ${ref.namespace}/${ref.name} (patch certificates/status)`);
  }
}

async function getCertificate(ref: CertificateRef): Promise<CertificateObject> {
  const c = await kubernetesClients(ref, ref.who);
  try {
    return (await c.custom.getNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: ref.namespace, plural: PLURAL, name: ref.name })) as CertificateObject;
  } catch (err) {
    if (apiStatus(err) === 404) throw notFound(ref);
    throw apiFailure(err, c, ref.who, `get Certificate ${ref.namespace}/${ref.name}`);
  }
}

function notFound(ref: CertificateRef) {
  return fail(
    FailureType.InvalidInput,
    `${ref.who}: Certificate ${ref.namespace}/${ref.name} does not exist (or cert-manager's CRDs are not installed); fix the certificate's name or namespace in the config`,
  );
}

function toStatus(crt: CertificateObject): CertificateStatus {
  const cond = (type: string) => crt.status?.conditions?.find((x) => x.type === type);
  const ready = cond('Ready');
  const issuing = cond('Issuing');
  return {
    namespace: crt.metadata.namespace,
    name: crt.metadata.name,
    ready: ready?.status ?? 'Unknown',
    readyReason: ready?.reason,
    readyMessage: ready?.message,
    issuing: issuing?.status === 'True',
    issuingReason: issuing?.reason,
    issuingMessage: issuing?.message,
    notAfter: crt.status?.notAfter,
    notBefore: crt.status?.notBefore,
    renewalTime: crt.status?.renewalTime,
    revision: crt.status?.revision,
    issuer: { kind: crt.spec.issuerRef.kind ?? 'Issuer', name: crt.spec.issuerRef.name, group: crt.spec.issuerRef.group ?? GROUP },
    secretName: crt.spec.secretName,
  };
}
