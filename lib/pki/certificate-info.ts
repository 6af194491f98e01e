import type { X509Certificate } from 'node:crypto';
import { fingerprint } from './pem';

/** What a report says about one certificate. Plain data, public (no key material). */
export interface CertificateInfo {
  subject: string;
  /** DNS names and IP addresses, as `DNS:…` / `IP Address:…`. */
  sans: string[];
  /** Hex, upper-case, as OpenSSL prints it. */
  serial: string;
  notBefore: string;
  notAfter: string;
  issuer: string;
  /** SHA-256, hex. */
  fingerprint: string;
}

export function certificateInfo(cert: X509Certificate): CertificateInfo {
  return {
    subject: oneLine(cert.subject),
    sans: (cert.subjectAltName ?? '').split(', ').filter(Boolean),
    serial: cert.serialNumber.toUpperCase(),
    notBefore: new Date(cert.validFrom).toISOString(),
    notAfter: new Date(cert.validTo).toISOString(),
    issuer: oneLine(cert.issuer),
    fingerprint: fingerprint(cert),
  };
}

// node prints distinguished names one attribute per line.
function oneLine(dn: string): string {
  return dn.split('\n').filter(Boolean).join(', ');
}
