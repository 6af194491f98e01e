import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startTlsEndpoint, type LocalCa, type TlsEndpoint } from './pki';

/** One TLS endpoint serving a certificate of `ca`, a trust store with its root, and the `caOutage` config section for them. */
export interface CaEndpoint {
  endpoint: TlsEndpoint;
  trustStore: string;
  caOutage: Record<string, unknown>;
}

/**
 * Starts endpoint "web" with a 24 h certificate issued by `ca` (the drill's outage window +
 * renewal margin, 2 h, leave it real headroom) and writes the trust store beside it. The
 * endpoint is in this process: the caller closes it.
 */
export async function startCaEndpoint(dir: string, ca: LocalCa): Promise<CaEndpoint> {
  const endpoint = await startTlsEndpoint({ name: 'web', dir: join(dir, 'endpoints'), ...(await ca.issue(['localhost', '127.0.0.1'], '24h')) });
  const trustStore = join(dir, 'trust.pem');
  writeFileSync(trustStore, await ca.rootPem());
  return {
    endpoint,
    trustStore,
    caOutage: {
      ca: ca.caConfig,
      endpoints: [{ name: endpoint.name, address: endpoint.address, renewal: { certFile: endpoint.certFile, keyFile: endpoint.keyFile, names: ['localhost', '127.0.0.1'], reloadUrl: endpoint.reloadUrl, ttl: '720h' } }],
      trustStores: [trustStore],
      outageWindowSeconds: 3600,
      renewalMarginSeconds: 3600,
      renewalSloSeconds: 60,
      requestTimeoutSeconds: 3,
    },
  };
}
