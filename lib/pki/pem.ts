import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { invalidInput } from '../failure-types';

const PEM_BLOCK = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

/** Every certificate in a PEM text, in order (leaf first for a served chain). */
export function parsePemCertificates(text: string): X509Certificate[] {
  return (text.match(PEM_BLOCK) ?? []).map((block) => new X509Certificate(block));
}

/**
 * Reads a trust-store bundle file. A missing or empty bundle is an input error that names
 * the file and the fix, because a drill cannot say what clients trust without it.
 */
export function readBundle(file: string, field: string): X509Certificate[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw invalidInput(`${field} ${file}: cannot read the trust-store bundle (${(err as NodeJS.ErrnoException).code ?? String(err)}); fix the path`);
  }
  const certs = parsePemCertificates(text);
  if (certs.length === 0) throw invalidInput(`${field} ${file}: no PEM certificate in the bundle; put the CA root certificate(s) there`);
  return certs;
}

/** Hex SHA-256 fingerprint without colons, lower-case: the form reports and comparisons use. */
export function fingerprint(cert: X509Certificate): string {
  return cert.fingerprint256.replace(/:/g, '').toLowerCase();
}
