/**
 * What the CA-outage drill records: its activities' results and the report's details. Here, not
 * beside the activities or the workflow, so the report renderers (lib/reports) can read them
 * without importing either.
 */
import type { CertificateInfo } from './certificate-info';
import type { Headroom } from './headroom';

/** One endpoint's certificate as served: the drill's inventory line. Public data only. */
export interface EndpointCertificate {
  endpoint: string;
  address: string;
  leaf: CertificateInfo;
  /** Intermediates the endpoint sent, leaf's issuer first. */
  intermediates: CertificateInfo[];
  rootFingerprint: string;
  rootSubject: string;
  headroom: Headroom;
}

/**
 * One cert-manager Certificate endpoint, from its status: the worker may not read the Secret
 * holding the certificate (no Secrets in its Role), so there is no serial or chain here.
 */
export interface CertificateResourceState {
  endpoint: string;
  /** namespace/name */
  certificate: string;
  ready: string;
  revision?: number;
  notBefore?: string;
  notAfter: string;
  renewalTime?: string;
  /** kind/name of the cert-manager issuer. */
  issuer: string;
  secretName: string;
  headroom: Headroom;
}

/** cert-manager's answer to a renewal requested while the CA was down. */
export interface CertManagerFailure {
  endpoint: string;
  certificate: string;
  /** The Issuing condition's reason ("Failed") and message, as cert-manager wrote them. */
  reason: string;
  message: string;
  /** Seconds from the request to the condition. */
  seconds: number;
}

/** A cert-manager renewal after the CA came back. */
export interface CertManagerRenewalDone {
  endpoint: string;
  certificate: string;
  previousRevision?: number;
  revision?: number;
  notAfter?: string;
  /** Renewal requests it took (a request that failed while the CA was still coming up is repeated). */
  requests: number;
}

export interface TrustStoreState {
  file: string;
  rootFingerprints: string[];
}

export interface CaInventory {
  ca: { type: string; address: string; component: string };
  /** The root the CA itself publishes now. */
  caRootFingerprint?: string;
  /** The trust anchor the endpoints chain to: the root the drill holds the CA to afterwards. */
  trustAnchorFingerprint: string;
  trustAnchorSubject: string;
  /** host:port endpoints, from a TLS handshake. */
  endpoints: EndpointCertificate[];
  /** cert-manager Certificate endpoints, from their status. */
  certificates: CertificateResourceState[];
  trustStores: TrustStoreState[];
  /** When it was taken (ISO), the reference time for the headroom figures. */
  at: string;
}

export interface RenewalProbe {
  serial: string;
  notAfter: string;
  issuer: string;
  rootFingerprint: string;
  rootSubject: string;
  /** For the names of this endpoint. */
  endpoint: string;
}

export interface InstalledRenewal {
  endpoint: string;
  previousSerial: string;
  serial: string;
  notAfter: string;
  rootFingerprint: string;
  /** Seconds from writing the files to the endpoint serving the new certificate. */
  servedAfterSeconds: number;
}

/** The drill's own report fields (report.details). */
export interface CaOutageDetails {
  ca: string;
  timeline: { at: string; seconds: number; event: string }[];
  inventory?: CaInventory;
  /** Per endpoint, after the CA went down: seconds of validity beyond outage window + margin. Certificates show their revision for the serial (the Secret is not read). */
  headroom?: { endpoint: string; serial: string; notAfter: string; remaining: string; headroomSeconds: number; short: boolean }[];
  /** cert-manager's reported failure per Certificate endpoint while the CA was down. */
  certManagerFailures?: CertManagerFailure[];
  /** cert-manager renewals after the CA came back, with seconds from starting the CA. */
  certManagerRenewals?: (CertManagerRenewalDone & { secondsAfterCaStart: number })[];
  /** Seconds from the renewal request to its typed failure while the CA was down. */
  failureDetectedSeconds?: number;
  failureType?: string;
  /** Seconds from starting the CA again to the first successful renewal. */
  renewalRecoverySeconds?: number;
  renewal?: RenewalProbe;
  root?: { recorded: string; afterRecovery: string; changed: boolean };
  installed?: InstalledRenewal[];
}
