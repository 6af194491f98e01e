import type { X509Certificate } from 'node:crypto';
import { fingerprint } from './pem';

export type ChainResult =
  | { ok: true; root: X509Certificate; rootFingerprint: string }
  | { ok: false; reason: string };

/**
 * Verifies a served chain (leaf first, then intermediates in any order) up to one of
 * `roots`: every link's signature and issuer name, and every certificate's validity at `at`.
 * The root may be sent by the server or only be in the trust store; it is trusted only
 * when it is one of `roots` (by fingerprint).
 */
export function verifyChain(chain: X509Certificate[], roots: X509Certificate[], at: Date): ChainResult {
  if (chain.length === 0) return { ok: false, reason: 'no certificate was served' };
  const trusted = new Map(roots.map((r) => [fingerprint(r), r]));
  const pool = chain.slice(1);
  let current = chain[0];
  for (let depth = 0; depth <= chain.length + 1; depth++) {
    const expired = outsideValidity(current, at);
    if (expired) return { ok: false, reason: expired };
    const anchor = trusted.get(fingerprint(current));
    if (anchor) return { ok: true, root: anchor, rootFingerprint: fingerprint(anchor) };
    const root = roots.find((r) => issuedBy(current, r));
    if (root) {
      const rootExpired = outsideValidity(root, at);
      if (rootExpired) return { ok: false, reason: `trust anchor ${rootExpired}` };
      return { ok: true, root, rootFingerprint: fingerprint(root) };
    }
    const next = pool.find((c) => c !== current && issuedBy(current, c));
    if (!next) {
      return { ok: false, reason: `"${current.subject.replace(/\n/g, ', ')}" is not issued by any served intermediate nor by a trusted root (issuer "${current.issuer.replace(/\n/g, ', ')}")` };
    }
    current = next;
  }
  return { ok: false, reason: 'the served chain loops' };
}

function issuedBy(cert: X509Certificate, issuer: X509Certificate): boolean {
  return cert.checkIssued(issuer) && cert.verify(issuer.publicKey);
}

function outsideValidity(cert: X509Certificate, at: Date): string | undefined {
  const subject = cert.subject.replace(/\n/g, ', ');
  if (at.getTime() > new Date(cert.validTo).getTime()) return `"${subject}" expired at ${new Date(cert.validTo).toISOString()}`;
  if (at.getTime() < new Date(cert.validFrom).getTime()) return `"${subject}" is not valid before ${new Date(cert.validFrom).toISOString()}`;
  return undefined;
}
