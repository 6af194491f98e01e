import type { X509Certificate } from 'node:crypto';
import { renameSync, writeFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import type { CaEndpoint, CaOutageConfig } from '../lib/config/pki';
import type { SecdrConfig } from '../lib/config/schema';
import { fail, failureTypeOf, FailureType } from '../lib/fail';
import { certificateNotAfter } from '../lib/pki/metrics';
import { caClient } from '../lib/pki/ca-client';
import { certificateInfo, type CertificateInfo } from '../lib/pki/certificate-info';
import { verifyChain } from '../lib/pki/chain';
import { headroom, type Headroom } from '../lib/pki/headroom';
import { fingerprint, readBundle } from '../lib/pki/pem';
import { probeTls, splitHostPort } from '../lib/pki/tls-probe';
import { componentByName } from '../lib/platform';
import { cancellationSignal, heartbeat } from './activity-context';

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
  endpoints: EndpointCertificate[];
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
  const describe = (e: CaEndpoint, i: number) => `endpoint ${e.name} (caOutage.endpoints[${i}], ${e.address})`;

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
    const probe = await probeTls(e.address, e.serverName, timeoutMs());
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
      address: e.address,
      leaf: leafInfo,
      intermediates: rest.filter((c) => fingerprint(c) !== verdict.rootFingerprint).map(certificateInfo),
      rootFingerprint: verdict.rootFingerprint,
      rootSubject: subjectOf(verdict.root),
      headroom: headroom(new Date(leaf.validTo), now, cfg.outageWindowSeconds, cfg.renewalMarginSeconds),
    };
  };

  const namesFor = (e: CaEndpoint): string[] => e.renewal?.names ?? [e.serverName ?? splitHostPort(e.address).host];

  /** Issues for `e` and checks the result chains to a root: the CA's published one or a trusted one. */
  const issueFor = async (cfg: CaOutageConfig, e: CaEndpoint) => {
    const issued = await caClient(cfg.ca, timeoutMs()).issue({ names: namesFor(e), ttl: e.renewal?.ttl ?? '720h' });
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
      for (let i = 0; i < cfg.endpoints.length; i++) endpoints.push(await examine(cfg, i, roots, now));
      return {
        ca: { type: cfg.ca.type, address: cfg.ca.address, component: cfg.ca.component },
        caRootFingerprint: ca.roots[0] ? fingerprint(ca.roots[0]) : undefined,
        trustAnchorFingerprint: endpoints[0].rootFingerprint,
        trustAnchorSubject: endpoints[0].rootSubject,
        endpoints,
        trustStores: stores.map((s) => ({ file: s.file, rootFingerprints: s.roots.map(fingerprint) })),
        at: now.toISOString(),
      };
    },

    /**
     * Step 3: every endpoint still completes a handshake and chains to the root recorded at
     * inventory (no CA involved: it is down). Returns the fresh headroom figures.
     */
    async checkEndpointsServe(input: { rootFingerprint: string }): Promise<EndpointCertificate[]> {
      const cfg = section();
      const roots = trustStores(cfg).flatMap((s) => s.roots);
      const now = new Date();
      const out: EndpointCertificate[] = [];
      for (let i = 0; i < cfg.endpoints.length; i++) {
        const seen = await examine(cfg, i, roots, now);
        if (seen.rootFingerprint !== input.rootFingerprint) {
          throw fail(
            FailureType.ChainInvalid,
            `${describe(cfg.endpoints[i], i)}: now chains to root ${seen.rootSubject} (${seen.rootFingerprint.slice(0, 16)}…), not the recorded ${input.rootFingerprint.slice(0, 16)}…; something replaced its certificate during the drill`,
            { endpoint: seen.endpoint },
          );
        }
        out.push(seen);
      }
      return out;
    },

    /**
     * Steps 4 and 5: one renewal attempt for the first endpoint's names, with the request
     * timeout; the key is discarded. A CA that is down fails fast with CaUnavailable.
     */
    async attemptRenewal(): Promise<RenewalProbe> {
      const cfg = section();
      const e = cfg.endpoints[0];
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
        for (let i = 0; i < cfg.endpoints.length; i++) {
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
      const before = await probeTls(e.address, e.serverName, timeoutMs());
      const previousSerial = before.ok ? before.chain[0].serialNumber.toUpperCase() : '(none)';
      const { issued, leaf, verdict } = await issueFor(cfg, e);
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
        if (!res.ok) throw new Error(`${describe(e, i)}: reload ${e.renewal.reloadUrl} answered ${res.status}: ${(await res.text()).slice(0, 200)}`);
      }
      const serial = leaf.serialNumber.toUpperCase();
      const deadline = started + cfg.renewalSloSeconds * 1000;
      for (;;) {
        const now = await probeTls(e.address, e.serverName, timeoutMs());
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
          throw new Error(
            `${describe(e, i)}: still serves serial ${now.ok ? now.chain[0].serialNumber : '(no handshake)'} ${cfg.renewalSloSeconds} s after the renewed ${serial} was installed in ${e.renewal.certFile}; ` +
              (e.renewal.reloadUrl ? 'the reload did not take: check the service log' : 'set renewal.reloadUrl or make the service watch its certificate file'),
          );
        }
        heartbeat(`waiting for ${e.name} to serve serial ${serial}`);
        cancellationSignal()?.throwIfAborted();
        await sleep(500);
      }
    },
  };
}
