import type { X509Certificate } from 'node:crypto';
import { renameSync, writeFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import type { CaEndpoint, CaOutageConfig } from '../lib/config/pki';
import type { SecdrConfig } from '../lib/config/schema';
import { fail, failureTypeOf, FailureType } from '../lib/fail';
import { certificateNotAfter } from '../lib/pki/metrics';
import { caClient } from '../lib/pki/ca-client';
import { renewThroughCertManager } from '../lib/pki/cert-manager-renewal';
import { certificateInfo } from '../lib/pki/certificate-info';
import { verifyChain } from '../lib/pki/chain';
import { headroom } from '../lib/pki/headroom';
import { fingerprint, readBundle } from '../lib/pki/pem';
import { probeTls, splitHostPort } from '../lib/pki/tls-probe';
import { componentByName } from '../lib/platform';
import { readCertificate, type CertificateRef } from '../lib/platform/cert-manager';
import type { EndpointCertificate, CertificateResourceState, CertManagerFailure, CertManagerRenewalDone, CaInventory, RenewalProbe, InstalledRenewal } from '../lib/pki/drill-types';
import { cancellationSignal, heartbeat } from './activity-context';

export type { EndpointCertificate, CertificateResourceState, CertManagerFailure, CertManagerRenewalDone, TrustStoreState, CaInventory, RenewalProbe, InstalledRenewal } from '../lib/pki/drill-types';

const subjectOf = (c: X509Certificate) => c.subject.split('\n').filter(Boolean).join(', ');

/** The CA-outage drill's activities: inventory, chain checks and renewals against the configured CA. */
export function createPkiActivities(config: SecdrConfig) {
  const section = (): CaOutageConfig => {
    if (!config.caOutage) {
      throw fail(FailureType.InvalidInput, 'no caOutage section in the config; add caOutage.ca, caOutage.endpoints and caOutage.trustStores (see examples/secdr.yaml)');
    }
    componentByName(config, config.caOutage.ca.component);
    return config.caOutage;
  };
  const timeoutMs = () => section().requestTimeoutSeconds * 1000;
  const describe = (e: CaEndpoint, i: number) =>
    `endpoint ${e.name} (caOutage.endpoints[${i}], ${e.certificate ? `Certificate ${e.certificate.namespace}/${e.certificate.name}` : e.address})`;
  /** Indexes of the host:port endpoints (the others are cert-manager Certificates). */
  const tlsIndexes = (cfg: CaOutageConfig) => cfg.endpoints.flatMap((e, i) => (e.address ? [i] : []));
  const certificateRef = (e: CaEndpoint, i: number): CertificateRef => {
    const c = e.certificate!;
    return { kubeconfig: c.kubeconfig, context: c.context, namespace: c.namespace, name: c.name, who: describe(e, i) };
  };
  const certificateIndex = (cfg: CaOutageConfig, name: string) => {
    const i = cfg.endpoints.findIndex((e) => e.name === name);
    if (!cfg.endpoints[i]?.certificate) throw fail(FailureType.InvalidInput, `endpoint ${name}: not a cert-manager Certificate endpoint in caOutage.endpoints; check the config the worker loaded`);
    return i;
  };

  /** A Certificate endpoint's state from its status; not Ready or expired fails naming it and the fix. */
  const examineCertificate = async (cfg: CaOutageConfig, i: number, now: Date): Promise<CertificateResourceState> => {
    const e = cfg.endpoints[i];
    const s = await readCertificate(certificateRef(e, i));
    if (s.ready !== 'True' || !s.notAfter) {
      throw fail(
        FailureType.CertificateExpired,
        `${describe(e, i)}: the Certificate is not Ready (Ready=${s.ready}${s.readyReason ? `, ${s.readyReason}` : ''}${s.readyMessage ? `: ${s.readyMessage}` : ''}); ` +
          'fix its issuance first (`kubectl describe certificate`, the CertificateRequest and the issuer): an outage drill needs working certificates to start from',
        { endpoint: e.name, ready: s.ready },
      );
    }
    if (now.getTime() > Date.parse(s.notAfter)) {
      throw fail(FailureType.CertificateExpired, `${describe(e, i)}: its certificate expired at ${s.notAfter}; renew it (cmctl renew) before drilling`, { endpoint: e.name, notAfter: s.notAfter });
    }
    certificateNotAfter.set({ endpoint: e.name }, Date.parse(s.notAfter) / 1000);
    return {
      endpoint: e.name,
      certificate: `${s.namespace}/${s.name}`,
      ready: s.ready,
      revision: s.revision,
      notBefore: s.notBefore,
      notAfter: s.notAfter,
      renewalTime: s.renewalTime,
      issuer: `${s.issuer.kind}/${s.issuer.name}`,
      secretName: s.secretName,
      headroom: headroom(new Date(s.notAfter), now, cfg.outageWindowSeconds, cfg.renewalMarginSeconds),
    };
  };

  const trustStores = (cfg: CaOutageConfig) =>
    cfg.trustStores.map((file, i) => {
      try {
        return { file, roots: readBundle(file, `caOutage.trustStores[${i}]`) };
      } catch (err) {
        throw fail(FailureType.InvalidInput, (err as Error).message);
      }
    });

  /** The CA's own chain; self-signed members are roots. */
  const caRoots = async (cfg: CaOutageConfig): Promise<{ chain: X509Certificate[]; roots: X509Certificate[] }> => {
    const chain = await caClient(cfg.ca, timeoutMs()).caChain();
    return { chain, roots: chain.filter((c) => c.subject === c.issuer && c.verify(c.publicKey)) };
  };

  /** Handshake + chain check of one endpoint against `roots`; typed failures name the endpoint and the fix. */
  const examine = async (cfg: CaOutageConfig, i: number, roots: X509Certificate[], now: Date): Promise<EndpointCertificate> => {
    const e = cfg.endpoints[i];
    const probe = await probeTls(e.address!, e.serverName, timeoutMs());
    if (!probe.ok) {
      throw fail(
        FailureType.EndpointNoTls,
        `${describe(e, i)}: ${probe.reason}; check that the address is the service's TLS port and that it is up (a plain-HTTP port cannot be drilled)`,
        { endpoint: e.name, kind: probe.kind },
      );
    }
    const [leaf, ...rest] = probe.chain;
    const expired = now.getTime() > new Date(leaf.validTo).getTime();
    if (expired || now.getTime() < new Date(leaf.validFrom).getTime()) {
      throw fail(
        FailureType.CertificateExpired,
        `${describe(e, i)}: serves certificate serial ${leaf.serialNumber} that ${expired ? `expired at ${new Date(leaf.validTo).toISOString()}` : `is not valid before ${new Date(leaf.validFrom).toISOString()}`}; ` +
          'renew and install it (the CA is up) before drilling: an outage drill needs working certificates to start from',
        { endpoint: e.name, notAfter: new Date(leaf.validTo).toISOString() },
      );
    }
    const verdict = verifyChain(probe.chain, roots, now);
    if (!verdict.ok) {
      throw fail(
        FailureType.ChainInvalid,
        `${describe(e, i)}: the served chain does not verify to a trusted root: ${verdict.reason}; ` +
          `serve the full chain (leaf then intermediates) and make sure caOutage.trustStores (${cfg.trustStores.join(', ')}) hold the CA root`,
        { endpoint: e.name },
      );
    }
    const leafInfo = certificateInfo(leaf);
    certificateNotAfter.set({ endpoint: e.name }, new Date(leaf.validTo).getTime() / 1000);
    return {
      endpoint: e.name,
      address: e.address!,
      leaf: leafInfo,
      intermediates: rest.filter((c) => fingerprint(c) !== verdict.rootFingerprint).map(certificateInfo),
      rootFingerprint: verdict.rootFingerprint,
      rootSubject: subjectOf(verdict.root),
      headroom: headroom(new Date(leaf.validTo), now, cfg.outageWindowSeconds, cfg.renewalMarginSeconds),
    };
  };

  const namesFor = (e: CaEndpoint): string[] => e.renewal?.names ?? [e.serverName ?? splitHostPort(e.address!).host];

  /** Issues for `names` (an endpoint's) and checks the result chains to a root: the CA's published one or a trusted one. */
  const issueFor = async (cfg: CaOutageConfig, e: { name: string; names: string[]; ttl?: string }) => {
    const issued = await caClient(cfg.ca, timeoutMs()).issue({ names: e.names, ttl: e.ttl ?? '720h' });
    const { chain, roots: published } = await caRoots(cfg);
    const candidates = [...published, ...trustStores(cfg).flatMap((t) => t.roots)];
    const verdict = verifyChain([...issued.chain, ...chain.filter((c) => !published.includes(c))], candidates, new Date());
    if (!verdict.ok) {
      throw fail(FailureType.ChainInvalid, `CA ${cfg.ca.address}: a certificate it just issued for ${e.name} does not verify: ${verdict.reason}; check the CA's issuer chain (caOutage.ca)`);
    }
    return { issued, leaf: issued.chain[0], verdict };
  };

  return {
    /** Step 1: every endpoint's certificate, the trust anchor, the trust stores. The CA must be up. */
    async inventoryCertificates(): Promise<CaInventory> {
      const cfg = section();
      let ca: Awaited<ReturnType<typeof caRoots>>;
      try {
        ca = await caRoots(cfg);
      } catch (err) {
        if (failureTypeOf(err) !== FailureType.CaUnavailable) throw err;
        throw fail(
          FailureType.InvalidInput,
          `caOutage.ca.address ${cfg.ca.address}: the CA does not answer before the drill has stopped it (${(err as Error).message}); ` +
            `fix caOutage.ca.address or start component ${cfg.ca.component} first`,
        );
      }
      const stores = trustStores(cfg);
      const roots = [...stores.flatMap((s) => s.roots), ...ca.roots];
      const now = new Date();
      const endpoints: EndpointCertificate[] = [];
      for (const i of tlsIndexes(cfg)) endpoints.push(await examine(cfg, i, roots, now));
      const certificates: CertificateResourceState[] = [];
      for (let i = 0; i < cfg.endpoints.length; i++) if (cfg.endpoints[i].certificate) certificates.push(await examineCertificate(cfg, i, now));
      // Certificates' chains are in Secrets the worker cannot read: with no host:port endpoint the anchor is the CA's published root.
      const anchor = endpoints[0] ? { fingerprint: endpoints[0].rootFingerprint, subject: endpoints[0].rootSubject } : ca.roots[0] && { fingerprint: fingerprint(ca.roots[0]), subject: subjectOf(ca.roots[0]) };
      if (!anchor) {
        throw fail(FailureType.InvalidInput, `CA ${cfg.ca.address} publishes no self-signed root in its chain and no host:port endpoint names one; add a host:port endpoint to caOutage.endpoints`);
      }
      return {
        ca: { type: cfg.ca.type, address: cfg.ca.address, component: cfg.ca.component },
        caRootFingerprint: ca.roots[0] ? fingerprint(ca.roots[0]) : undefined,
        trustAnchorFingerprint: anchor.fingerprint,
        trustAnchorSubject: anchor.subject,
        endpoints,
        certificates,
        trustStores: stores.map((s) => ({ file: s.file, rootFingerprints: s.roots.map(fingerprint) })),
        at: now.toISOString(),
      };
    },

    /**
     * Step 3: every endpoint still completes a handshake and chains to the root recorded at
     * inventory (no CA involved: it is down). Returns the fresh headroom figures.
     * Step 11 after a root change passes `recordedRootFingerprint` (the old root): endpoints still
     * on it fail as RootChanged, named with what to renew and which trust stores keep the old root.
     */
    async checkEndpointsServe(input: { rootFingerprint: string; recordedRootFingerprint?: string }): Promise<EndpointCertificate[]> {
      const cfg = section();
      const roots = trustStores(cfg).flatMap((s) => s.roots);
      const now = new Date();
      const rootChanged = input.recordedRootFingerprint !== undefined && input.recordedRootFingerprint !== input.rootFingerprint;
      const out: EndpointCertificate[] = [];
      const onOldRoot: { i: number; seen: EndpointCertificate }[] = [];
      for (const i of tlsIndexes(cfg)) {
        const seen = await examine(cfg, i, roots, now);
        if (rootChanged && seen.rootFingerprint === input.recordedRootFingerprint) {
          onOldRoot.push({ i, seen });
          continue;
        }
        if (seen.rootFingerprint !== input.rootFingerprint) {
          throw fail(
            FailureType.ChainInvalid,
            `${describe(cfg.endpoints[i], i)}: now chains to root ${seen.rootSubject} (${seen.rootFingerprint.slice(0, 16)}…), not the recorded ${input.rootFingerprint.slice(0, 16)}…; something replaced its certificate during the drill`,
            { endpoint: seen.endpoint },
          );
        }
        out.push(seen);
      }
      if (onOldRoot.length > 0) {
        const why = ({ i, seen }: (typeof onOldRoot)[number]) =>
          `${describe(cfg.endpoints[i], i)} serves serial ${seen.leaf.serial} under the old root "${seen.rootSubject}"` +
          (cfg.endpoints[i].renewal ? ' although the drill installed a renewed one (check that it reloads its certificate files)' : ' (no caOutage.endpoints[].renewal files, so the drill installs nothing there)');
        throw fail(
          FailureType.RootChanged,
          `root changed: the CA now issues under root ${input.rootFingerprint.slice(0, 16)}…, not the recorded ${input.recordedRootFingerprint!.slice(0, 16)}…, and ${onOldRoot.length} endpoint(s) still serve a certificate under the old one: ${onOldRoot.map(why).join('; ')}. ` +
            `Renew or re-issue ${onOldRoot.map((o) => o.seen.endpoint).join(', ')} from the CA and reload ${onOldRoot.length > 1 ? 'them' : 'it'} (or add renewal files so the drill does), ` +
            `and keep the old root in the trust stores (${cfg.trustStores.join(', ')}) until no endpoint serves under it; then run the drill again`,
          { endpoints: onOldRoot.map((o) => o.seen.endpoint), trustStores: cfg.trustStores, newRootFingerprint: input.rootFingerprint },
        );
      }
      return out;
    },

    /** Steps 3 and 5 for cert-manager Certificate endpoints: each still Ready and unexpired, with its headroom (from the status). */
    async checkCertificates(): Promise<CertificateResourceState[]> {
      const cfg = section();
      const now = new Date();
      const out: CertificateResourceState[] = [];
      for (let i = 0; i < cfg.endpoints.length; i++) if (cfg.endpoints[i].certificate) out.push(await examineCertificate(cfg, i, now));
      return out;
    },

    /**
     * Step 4 on Kubernetes: requests a renewal of Certificate endpoint `endpoint` (as `cmctl
     * renew` does) and returns cert-manager's failure as its Issuing condition reports it. A new
     * revision means something still issued (VerificationFailed); no answer within
     * certificate.reportTimeoutSeconds is RenewalNotReported, never a hang.
     */
    async renewCertificateWhileCaDown(input: { endpoint: string }): Promise<CertManagerFailure> {
      const cfg = section();
      const i = certificateIndex(cfg, input.endpoint);
      const e = cfg.endpoints[i];
      const ref = certificateRef(e, i);
      const r = await renewThroughCertManager(ref, { timeoutMs: e.certificate!.reportTimeoutSeconds * 1000, onPoll: pollTick(`cert-manager's answer for ${e.name}`) });
      if (r.verdict.kind === 'issued') {
        throw fail(
          FailureType.VerificationFailed,
          `${describe(e, i)}: cert-manager issued revision ${r.verdict.status.revision} while component ${cfg.ca.component} was stopped: its issuer does not use this CA; point the Certificate's issuer (${r.verdict.status.issuer.kind}/${r.verdict.status.issuer.name}) at caOutage.ca or remove the endpoint`,
          { endpoint: e.name },
        );
      }
      if (r.verdict.kind === 'silent') throw silent(e, i, r.seconds);
      return { endpoint: e.name, certificate: `${ref.namespace}/${ref.name}`, reason: r.verdict.reason, message: r.verdict.message, seconds: r.seconds };
    },

    /**
     * Step 5 on Kubernetes: requests renewals of Certificate endpoint `endpoint` until cert-manager
     * reports a new Ready revision, repeating a request that failed while the CA was still coming
     * up, for at most `timeoutSeconds`.
     */
    async renewCertificate(input: { endpoint: string; timeoutSeconds: number }): Promise<CertManagerRenewalDone> {
      const cfg = section();
      const i = certificateIndex(cfg, input.endpoint);
      const e = cfg.endpoints[i];
      const ref = certificateRef(e, i);
      const deadline = Date.now() + input.timeoutSeconds * 1000;
      for (let requests = 1; ; requests++) {
        const r = await renewThroughCertManager(ref, { timeoutMs: Math.min(e.certificate!.reportTimeoutSeconds * 1000, Math.max(1000, deadline - Date.now())), onPoll: pollTick(`cert-manager to renew ${e.name}`) });
        if (r.verdict.kind === 'issued') {
          const s = r.verdict.status;
          if (s.notAfter) certificateNotAfter.set({ endpoint: e.name }, Date.parse(s.notAfter) / 1000);
          return { endpoint: e.name, certificate: `${ref.namespace}/${ref.name}`, previousRevision: r.previousRevision, revision: s.revision, notAfter: s.notAfter, requests };
        }
        if (r.verdict.kind === 'silent') throw silent(e, i, r.seconds);
        if (Date.now() > deadline) {
          throw fail(
            FailureType.CaUnavailable,
            `${describe(e, i)}: cert-manager still fails to renew ${input.timeoutSeconds} s after the CA was started (${r.verdict.reason}: ${r.verdict.message}); check the issuer's connection to the CA`,
            { endpoint: e.name },
          );
        }
        await sleep(1000);
      }
    },

    /**
     * Steps 4 and 5: one renewal attempt for the first host:port endpoint's names (or
     * caOutage.probeNames), with the request timeout; the key is discarded. A CA that is down
     * fails fast with CaUnavailable.
     */
    async attemptRenewal(): Promise<RenewalProbe> {
      const cfg = section();
      const first = cfg.endpoints[tlsIndexes(cfg)[0] ?? -1];
      const e = { name: first?.name ?? 'probe', names: cfg.probeNames ?? namesFor(first!), ttl: first?.renewal?.ttl };
      const { leaf, verdict } = await issueFor(cfg, e);
      if (!verdict.ok) throw new Error('unreachable');
      return {
        endpoint: e.name,
        serial: leaf.serialNumber.toUpperCase(),
        notAfter: new Date(leaf.validTo).toISOString(),
        issuer: leaf.issuer.split('\n').filter(Boolean).join(', '),
        rootFingerprint: verdict.rootFingerprint,
        rootSubject: subjectOf(verdict.root),
      };
    },

    /**
     * After a root change: which trust stores lack the new root and which endpoints still
     * serve a chain to the old one. Fails with RootChanged (listing both) until every trust
     * store carries the new root; then installing new-root certificates breaks no client.
     */
    async checkNewRootDistributed(input: { newRootFingerprint: string; newRootSubject: string; oldRootFingerprint: string }): Promise<{ trustStores: string[] }> {
      const cfg = section();
      const stores = trustStores(cfg);
      const missing = stores.filter((s) => !s.roots.some((r) => fingerprint(r) === input.newRootFingerprint)).map((s) => s.file);
      if (missing.length > 0) {
        const now = new Date();
        const oldEndpoints: string[] = [];
        for (const i of tlsIndexes(cfg)) {
          const e = cfg.endpoints[i];
          try {
            const seen = await examine(cfg, i, stores.flatMap((s) => s.roots), now);
            if (seen.rootFingerprint !== input.newRootFingerprint) oldEndpoints.push(`${e.name} (${e.address})`);
          } catch (err) {
            // An endpoint that cannot be checked is not on the new root either: listed, with why.
            oldEndpoints.push(`${e.name} (${e.address}; ${failureTypeOf(err) ?? 'error'}: ${(err as Error).message})`);
          }
        }
        throw fail(
          FailureType.RootChanged,
          `root changed: the CA now issues under "${input.newRootSubject}" (${input.newRootFingerprint.slice(0, 16)}…), not the recorded root (${input.oldRootFingerprint.slice(0, 16)}…). ` +
            `Trust stores without the new root: ${missing.join(', ')}. Endpoints not yet serving a certificate under the new root: ${oldEndpoints.join(', ') || '(none)'}. ` +
            'Distribute the new root to every trust store (keep the old one until every endpoint is renewed), then run the drill again',
          { missingTrustStores: missing, endpoints: oldEndpoints, newRootFingerprint: input.newRootFingerprint },
        );
      }
      return { trustStores: stores.map((s) => s.file) };
    },

    /**
     * Step 5: issues a certificate for endpoint `name`, installs it (files written atomically,
     * key never leaves this activity), triggers the reload and waits until the endpoint serves
     * the new serial and it chains to `rootFingerprint`.
     */
    async installRenewedCertificate(input: { endpoint: string; rootFingerprint: string }): Promise<InstalledRenewal> {
      const cfg = section();
      const i = cfg.endpoints.findIndex((e) => e.name === input.endpoint);
      const e = cfg.endpoints[i];
      if (!e?.renewal) throw fail(FailureType.InvalidInput, `endpoint ${input.endpoint}: no caOutage.endpoints[].renewal (certFile, keyFile) to install a renewed certificate into`);
      const before = await probeTls(e.address!, e.serverName, timeoutMs());
      const previousSerial = before.ok ? before.chain[0].serialNumber.toUpperCase() : '(none)';
      const { issued, leaf, verdict } = await issueFor(cfg, { name: e.name, names: namesFor(e), ttl: e.renewal.ttl });
      if (!verdict.ok) throw new Error('unreachable');
      if (verdict.rootFingerprint !== input.rootFingerprint) {
        throw fail(FailureType.RootChanged, `${describe(e, i)}: the renewed certificate chains to ${verdict.rootFingerprint.slice(0, 16)}…, not ${input.rootFingerprint.slice(0, 16)}…; not installed`);
      }
      const write = (file: string, text: string, mode: number) => {
        writeFileSync(`${file}.secdr-new`, text, { mode });
        renameSync(`${file}.secdr-new`, file);
      };
      write(e.renewal.keyFile, issued.keyPem, 0o600);
      write(e.renewal.certFile, issued.chainPem, 0o644);
      const started = Date.now();
      if (e.renewal.reloadUrl) {
        const res = await fetch(e.renewal.reloadUrl, { method: 'POST', signal: AbortSignal.timeout(timeoutMs()) });
        if (!res.ok) throw fail(FailureType.PlatformActionFailed, `${describe(e, i)}: reload ${e.renewal.reloadUrl} answered ${res.status}: ${(await res.text()).slice(0, 200)}`);
      }
      const serial = leaf.serialNumber.toUpperCase();
      const deadline = started + cfg.renewalSloSeconds * 1000;
      for (;;) {
        const now = await probeTls(e.address!, e.serverName, timeoutMs());
        if (now.ok && now.chain[0].serialNumber.toUpperCase() === serial) {
          certificateNotAfter.set({ endpoint: e.name }, new Date(leaf.validTo).getTime() / 1000);
          return {
            endpoint: e.name,
            previousSerial,
            serial,
            notAfter: new Date(leaf.validTo).toISOString(),
            rootFingerprint: verdict.rootFingerprint,
            servedAfterSeconds: (Date.now() - started) / 1000,
          };
        }
        if (Date.now() > deadline) {
          throw fail(
            FailureType.PlatformActionFailed,
            `${describe(e, i)}: still serves serial ${now.ok ? now.chain[0].serialNumber : '(no handshake)'} ${cfg.renewalSloSeconds} s after the renewed ${serial} was installed in ${e.renewal.certFile}; ` +
              (e.renewal.reloadUrl ? 'the reload did not take: check the service log' : 'set renewal.reloadUrl or make the service watch its certificate file'),
          );
        }
        pollTick(`${e.name} to serve serial ${serial}`)();
        await sleep(500);
      }
    },
  };
}

/** What every polling activity does between polls: heartbeat, and stop when cancelled. */
function pollTick(waitingFor: string) {
  return () => {
    heartbeat(`waiting for ${waitingFor}`);
    cancellationSignal()?.throwIfAborted();
  };
}

function silent(e: CaEndpoint, i: number, seconds: number) {
  return fail(
    FailureType.RenewalNotReported,
    `endpoint ${e.name} (caOutage.endpoints[${i}], Certificate ${e.certificate!.namespace}/${e.certificate!.name}): cert-manager reported no outcome (Issuing/Ready conditions) ${Math.round(seconds)} s after the renewal request; ` +
      'check that the cert-manager controller is running and watches this namespace, or raise certificate.reportTimeoutSeconds',
    { endpoint: e.name },
  );
}
