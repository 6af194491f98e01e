/**
 * CA-outage figures on the local stack: for OpenBao PKI and cfssl, ROUNDS times, how long a
 * renewal takes to fail once the CA is stopped (detection) and how long after starting the CA
 * again a renewal succeeds (recovery, CA start-up included). Run: npx tsx bench/ca-renewal-recovery.ts
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { createPkiActivities } from '../activities/pki';
import { parseConfig } from '../lib/config/load';
import { failureTypeOf } from '../lib/fail';
import { startCfsslCa, startOpenBaoPkiCa, startTlsEndpoint, type LocalCa } from '../dev-stack/pki';
import { stopAllOnExit } from '../dev-stack/supervisor';
import { platformFor } from '../lib/platform';
import { tempDir } from '../test/harness/temp';

const ROUNDS = Number(process.env.ROUNDS ?? 5);

const stats = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return `median ${s[Math.floor(s.length / 2)].toFixed(2)} s (min ${s[0].toFixed(2)}, max ${s[s.length - 1].toFixed(2)}, n=${s.length})`;
};

async function measure(kind: 'openbao-pki' | 'cfssl', dir: string): Promise<void> {
  const ca: LocalCa = kind === 'cfssl' ? await startCfsslCa(join(dir, kind)) : await startOpenBaoPkiCa(join(dir, kind));
  const endpoint = await startTlsEndpoint({ name: 'web', dir: join(dir, `${kind}-ep`), ...(await ca.issue(['localhost'], '720h')) });
  try {
    const trust = join(dir, `${kind}-trust.pem`);
    writeFileSync(trust, await ca.rootPem());
    writeFileSync(join(dir, 'codec.key'), Buffer.alloc(32, 1).toString('base64'));
    const config = parseConfig({
      clusters: [{ name: 'bench', nodes: ['http://127.0.0.1:1'], auth: { method: 'token', token: { env: 'UNUSED' } } }],
      storage: [{ name: 'local', type: 'local', dir }],
      codec: { key: { file: join(dir, 'codec.key') } },
      components: [ca.component],
      caOutage: { ca: ca.caConfig, endpoints: [{ name: 'web', address: endpoint.address, serverName: 'localhost' }], trustStores: [trust], requestTimeoutSeconds: 5 },
    });
    const pki = createPkiActivities(config);
    const adapter = platformFor(ca.component);
    const detection: number[] = [];
    const recovery: number[] = [];
    for (let i = 0; i < ROUNDS; i++) {
      await adapter.stop();
      let t = performance.now();
      const type = await pki.attemptRenewal().then(() => 'issued', failureTypeOf);
      detection.push((performance.now() - t) / 1000);
      if (type !== 'CaUnavailable') throw new Error(`${kind}: a renewal with the CA stopped ended ${type}`);
      t = performance.now();
      await adapter.start();
      for (;;) {
        try {
          await pki.attemptRenewal();
          break;
        } catch (err) {
          if (failureTypeOf(err) !== 'CaUnavailable') throw err;
        }
      }
      recovery.push((performance.now() - t) / 1000);
    }
    console.log(`${kind}: renewal failure detected ${stats(detection)}`);
    console.log(`${kind}: renewal recovered after CA start ${stats(recovery)}`);
  } finally {
    await ca.stop();
    await endpoint.close();
  }
}

void (async () => {
  stopAllOnExit();
  const tmp = tempDir('bench-ca');
  try {
    await measure('openbao-pki', tmp.dir);
    await measure('cfssl', tmp.dir);
  } finally {
    tmp.cleanup();
  }
})();
