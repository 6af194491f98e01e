import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ApplicationFailure } from '@temporalio/common';
import { createPkiActivities } from '../../activities/pki';
import type { SecdrConfig } from '../../lib/config/schema';
import { freePort } from '../../dev-stack/ports';
import { startCfsslCa, startOpenBaoPkiCa, startTlsEndpoint, type LocalCa, type TlsEndpoint } from '../../dev-stack/pki';
import { platformFor } from '../../lib/platform';
import { testConfig } from '../harness/config';
import { tempDir } from '../harness/temp';

/** Asserts a typed failure whose message matches every pattern. */
const rejectsWith = (p: Promise<unknown>, type: string, ...patterns: RegExp[]) =>
  assert.rejects(p, (err: unknown) => {
    assert.ok(err instanceof ApplicationFailure, `expected ApplicationFailure, got ${String(err)}`);
    assert.equal(err.type, type, err.message);
    for (const re of patterns) assert.match(err.message, re);
    return true;
  });

for (const kind of ['openbao-pki', 'cfssl'] as const) {
  describe(`PKI activities against a real ${kind} CA and real TLS endpoints`, function () {
    this.timeout(120_000);
    const tmp = tempDir(`pki-${kind}`);
    let ca: LocalCa;
    const endpoints: TlsEndpoint[] = [];
    /** Endpoints only one test uses: not in the shared config. */
    const others: TlsEndpoint[] = [];
    let config: SecdrConfig;
    let trustStore: string;
    let plain: Server;
    let plainPort: number;

    const configWith = (caOutage: Record<string, unknown>, theCa: LocalCa = ca) =>
      testConfig(tmp.dir, {
        components: [theCa.component],
        caOutage: {
          ca: theCa.caConfig,
          endpoints: endpoints.map((e) => ({ name: e.name, address: e.address, renewal: { certFile: e.certFile, keyFile: e.keyFile, names: ['localhost', '127.0.0.1'], reloadUrl: e.reloadUrl } })),
          trustStores: [trustStore],
          outageWindowSeconds: 3600,
          renewalMarginSeconds: 3600,
          requestTimeoutSeconds: 3,
          ...caOutage,
        },
      });

    before(async () => {
      ca = kind === 'cfssl' ? await startCfsslCa(join(tmp.dir, 'ca')) : await startOpenBaoPkiCa(join(tmp.dir, 'ca'));
      trustStore = join(tmp.dir, 'trust.pem');
      writeFileSync(trustStore, await ca.rootPem());
      for (const name of ['web', 'api']) {
        endpoints.push(await startTlsEndpoint({ name, dir: join(tmp.dir, 'endpoints'), ...(await ca.issue(['localhost', '127.0.0.1'], '2h')) }));
      }
      plainPort = await freePort();
      plain = createServer((_req, res) => res.end('plain HTTP\n'));
      await new Promise<void>((r) => plain.listen(plainPort, '127.0.0.1', r));
      config = configWith({});
    });

    after(async () => {
      // The CA first: it runs detached (the platform adapter's), so nothing else would stop it.
      await ca?.stop();
      await Promise.all([...endpoints, ...others].map((e) => e.close()));
      plain?.closeAllConnections();
      await new Promise((r) => plain?.close(r));
      tmp.cleanup();
    });

    it('inventories each endpoint: serial, SANs, chain to the CA root, and a short headroom for 2-hour certificates', async () => {
      const inv = await createPkiActivities(config).inventoryCertificates();
      assert.equal(inv.endpoints.length, 2);
      assert.equal(inv.caRootFingerprint, inv.trustAnchorFingerprint, 'endpoints chain to the root the CA publishes');
      for (const e of inv.endpoints) {
        assert.ok(e.leaf.sans.includes('DNS:localhost') && e.leaf.sans.includes('IP Address:127.0.0.1'), e.leaf.sans.join());
        assert.match(e.leaf.serial, /^[0-9A-F]+$/);
        assert.ok(e.headroom.remainingSeconds > 3000 && e.headroom.remainingSeconds <= 7200);
        assert.equal(e.headroom.short, true, '2 h of validity is shorter than 1 h outage + 1 h margin');
      }
      assert.notEqual(inv.endpoints[0].leaf.serial, inv.endpoints[1].leaf.serial);
      if (kind === 'openbao-pki') assert.equal(inv.endpoints[0].intermediates.length, 1, 'OpenBao endpoints send the intermediate');
    });

    it('a stopped CA fails the renewal with CaUnavailable (connection refused), and it issues again once started', async () => {
      const pki = createPkiActivities(config);
      const before = await pki.attemptRenewal();
      await platformFor(ca.component).stop();
      try {
        await rejectsWith(pki.attemptRenewal(), 'CaUnavailable', /is unavailable: (ECONNREFUSED|UND_ERR_SOCKET)/, new RegExp(ca.address));
        const still = await pki.checkEndpointsServe({ rootFingerprint: before.rootFingerprint });
        assert.equal(still.length, 2, 'existing certificates keep serving while the CA is down');
      } finally {
        await platformFor(ca.component).start();
      }
      const after = await pki.attemptRenewal();
      assert.equal(after.rootFingerprint, before.rootFingerprint);
      assert.notEqual(after.serial, before.serial);
    });

    if (kind === 'openbao-pki') {
      it('a sealed CA fails the renewal with CaUnavailable (503, sealed), and it issues again once unsealed', async () => {
        // Shamir-sealed, so it stays sealed until unsealed (a static-seal CA unseals itself within seconds).
        // Its component is the `command` one a user would configure: curl PUT sys/seal / sys/unseal.
        const sealable = await startOpenBaoPkiCa(join(tmp.dir, 'sealable'), 'sealable-ca', { seal: 'shamir' });
        try {
          const pki = createPkiActivities(configWith({}, sealable));
          const adapter = platformFor(sealable.component);
          const before = await pki.attemptRenewal();
          const stopped = await adapter.stop();
          assert.equal(stopped.adapter, 'command');
          try {
            const health = (await (await fetch(`${sealable.address}/v1/sys/health`)).json()) as { sealed: boolean };
            assert.equal(health.sealed, true, 'sys/seal took: the server runs but is sealed');
            await rejectsWith(pki.attemptRenewal(), 'CaUnavailable', /answered 503 \(sealed\): it cannot issue/, new RegExp(sealable.address), /component sealable-ca/);
          } finally {
            await adapter.start(stopped);
          }
          const after = await pki.attemptRenewal();
          assert.equal(after.rootFingerprint, before.rootFingerprint, 'unsealed, it issues under the same root');
          assert.notEqual(after.serial, before.serial);
        } finally {
          await sealable.stop();
        }
      });
    }

    it('installs a renewed certificate: the endpoint serves the new serial after its reload, chained to the same root', async () => {
      const pki = createPkiActivities(config);
      const inv = await pki.inventoryCertificates();
      const reloadsBefore = endpoints[0].reloads;
      const r = await pki.installRenewedCertificate({ endpoint: 'web', rootFingerprint: inv.trustAnchorFingerprint });
      assert.equal(r.previousSerial, inv.endpoints[0].leaf.serial);
      assert.notEqual(r.serial, r.previousSerial);
      assert.equal(endpoints[0].reloads, reloadsBefore + 1);
      const again = await pki.inventoryCertificates();
      assert.equal(again.endpoints[0].leaf.serial, r.serial);
      assert.equal(again.endpoints[1].leaf.serial, inv.endpoints[1].leaf.serial, 'the other endpoint is untouched');
    });

    it('names the endpoint and the fix when it does not speak TLS', async () => {
      const bad = configWith({ endpoints: [{ name: 'plain-http', address: `127.0.0.1:${plainPort}` }] });
      await rejectsWith(createPkiActivities(bad).inventoryCertificates(), 'EndpointNoTls', /endpoint plain-http \(caOutage\.endpoints\[0\], 127\.0\.0\.1:\d+\)/, /the TLS handshake failed: wrong version number/, /TLS port/);
    });

    it('names the endpoint and the fix when it serves an expired certificate', async () => {
      // cfssl backdates notBefore by 5 minutes, so its 5 s profile is expired on issue; OpenBao's 2 s ttl after a short wait.
      const expired = await startTlsEndpoint({ name: 'expired', dir: join(tmp.dir, 'endpoints'), ...(await ca.issue(['localhost'], kind === 'cfssl' ? '5s' : '2s')) });
      others.push(expired);
      await new Promise((r) => setTimeout(r, 3000));
      const bad = configWith({ endpoints: [{ name: 'expired', address: expired.address }] });
      await rejectsWith(createPkiActivities(bad).inventoryCertificates(), 'CertificateExpired', /endpoint expired \(caOutage\.endpoints\[0\], 127\.0\.0\.1:\d+\): serves certificate serial \w+ that expired at /, /renew and install it/);
    });

    it('names the field and the fix when the CA address is wrong', async () => {
      const port = await freePort();
      const bad = configWith({ ca: { ...ca.caConfig, address: `http://127.0.0.1:${port}` } });
      await rejectsWith(createPkiActivities(bad).inventoryCertificates(), 'InvalidInput', /caOutage\.ca\.address http:\/\/127\.0\.0\.1:\d+/, /fix caOutage\.ca\.address or start component/);
    });

    it('refuses a chain that does not verify to the trust stores, naming the endpoint', async () => {
      const other = join(tmp.dir, 'other-root.pem');
      const foreign = kind === 'cfssl' ? await startOpenBaoPkiCa(join(tmp.dir, 'foreign')) : await startCfsslCa(join(tmp.dir, 'foreign'));
      try {
        writeFileSync(other, await foreign.rootPem());
      } finally {
        await foreign.stop();
      }
      // The CA is consulted too at inventory, so its root is trusted there; the later check trusts only the stores.
      const bad = configWith({ trustStores: [other] });
      const inv = await createPkiActivities(config).inventoryCertificates();
      await rejectsWith(createPkiActivities(bad).checkEndpointsServe({ rootFingerprint: inv.trustAnchorFingerprint }), 'ChainInvalid', /endpoint web/, /does not verify to a trusted root/, /caOutage\.trustStores/);
    });
  });
}
