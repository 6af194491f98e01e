import { setTimeout as sleep } from 'node:timers/promises';
import { readCertificate, requestRenewal, type CertificateRef, type CertificateStatus } from '../platform/cert-manager';

/** cert-manager's verdict on one requested renewal, read from the Certificate's conditions and revision. */
export type CertManagerVerdict =
  /** The Issuing condition went False (reason "Failed" when the CertificateRequest failed) with the revision unchanged. */
  | { kind: 'failed'; reason: string; message: string; status: CertificateStatus }
  /** A new revision is Ready and nothing is issuing any more. */
  | { kind: 'issued'; status: CertificateStatus }
  /** Neither within the limit: the controller is not acting on the Certificate. */
  | { kind: 'silent'; status: CertificateStatus };

export interface CertManagerRenewal {
  verdict: CertManagerVerdict;
  /** The revision before the request. */
  previousRevision?: number;
  /** Seconds from the request to the verdict. */
  seconds: number;
}

/**
 * Requests a renewal like `cmctl renew` and waits until cert-manager reports its outcome on
 * the Certificate (or `timeoutMs` passes). Only the status is read: the worker may not read
 * the Secret holding the certificate. `onPoll` runs on every poll (heartbeats, cancellation).
 */
export async function renewThroughCertManager(ref: CertificateRef, opts: { timeoutMs: number; pollMs?: number; onPoll?: (s: CertificateStatus) => void }): Promise<CertManagerRenewal> {
  const before = await readCertificate(ref);
  const started = Date.now();
  await requestRenewal(ref);
  for (;;) {
    const s = await readCertificate(ref);
    const seconds = (Date.now() - started) / 1000;
    const newRevision = (s.revision ?? 0) > (before.revision ?? 0);
    if (newRevision && !s.issuing && s.ready === 'True') return { verdict: { kind: 'issued', status: s }, previousRevision: before.revision, seconds };
    // A False Issuing condition after our True one is the controller's answer; with no new revision it is a failure.
    if (!newRevision && !s.issuing && s.issuingReason !== undefined) {
      return { verdict: { kind: 'failed', reason: s.issuingReason, message: s.issuingMessage ?? '', status: s }, previousRevision: before.revision, seconds };
    }
    if (Date.now() - started > opts.timeoutMs) return { verdict: { kind: 'silent', status: s }, previousRevision: before.revision, seconds };
    opts.onPoll?.(s);
    await sleep(opts.pollMs ?? 500);
  }
}
