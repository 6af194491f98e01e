import assert from 'node:assert/strict';
import { ConfigError } from '../../../lib/config/load';
import { caOutage } from '../../../procedures/ca-outage';
import { testConfig } from '../../harness/config';
import { tempDir } from '../../harness/temp';

describe('caOutage config and drill input: bad input names the field and the fix', () => {
  const tmp = tempDir('pki-config');
  after(() => tmp.cleanup());
  const ca = { type: 'cfssl', address: 'http://127.0.0.1:8888', component: 'ca' };
  const component = { name: 'ca', platform: { type: 'command', stop: ['systemctl', 'stop', 'cfssl'], start: ['systemctl', 'start', 'cfssl'], status: ['systemctl', 'is-active', 'cfssl'] } };
  const problems = (caOutageSection: unknown) => {
    try {
      testConfig(tmp.dir, { components: [component], caOutage: caOutageSection });
    } catch (err) {
      assert.ok(err instanceof ConfigError, String(err));
      return err.problems.join('\n');
    }
    return '';
  };

  it('accepts a minimal section and fills the defaults (SLO 300 s, a day of outage window and margin)', () => {
    const cfg = testConfig(tmp.dir, { components: [component], caOutage: { ca, endpoints: [{ name: 'web', address: 'web.internal:443' }], trustStores: ['/etc/ssl/ca.pem'] } });
    assert.equal(cfg.caOutage?.renewalSloSeconds, 300);
    assert.equal(cfg.caOutage?.outageWindowSeconds, 86_400);
    assert.equal(cfg.caOutage?.renewalMarginSeconds, 86_400);
    assert.equal(cfg.caOutage?.ca.type === 'cfssl' && cfg.caOutage.ca.profile, 'server');
  });

  it('names each wrong field', () => {
    assert.match(problems({ ca, endpoints: [{ name: 'web', address: 'https://web.internal' }], trustStores: ['/x.pem'] }), /caOutage\.endpoints\[0\]\.address: must be host:port/);
    assert.match(problems({ ca, endpoints: [], trustStores: ['/x.pem'] }), /caOutage\.endpoints: list at least one endpoint \(name and address host:port, or name and certificate/);
    assert.match(problems({ ca, endpoints: [{ name: 'web', address: 'a:1' }], trustStores: [] }), /caOutage\.trustStores: list at least one trust-store bundle file/);
    assert.match(problems({ ca: { ...ca, address: 'cfssl:8888' }, endpoints: [{ name: 'web', address: 'a:1' }], trustStores: ['/x.pem'] }), /caOutage\.ca\.address: must be a base URL/);
    assert.match(
      problems({ ca: { type: 'openbao-pki', address: 'http://b:8200', component: 'ca' }, endpoints: [{ name: 'web', address: 'a:1' }], trustStores: ['/x.pem'] }),
      /caOutage\.ca\.role: expected string but it is missing; add it/,
    );
    assert.match(
      problems({ ca, endpoints: [{ name: 'web', address: 'a:1' }, { name: 'web', address: 'b:1' }], trustStores: ['/x.pem'] }),
      /caOutage\.endpoints\[1\]\.name: duplicate endpoint name "web"/,
    );
  });

  it('takes a cert-manager Certificate as an endpoint, with exactly one of address or certificate, no renewal files, and probe names when no host:port endpoint is left', () => {
    const crt = { namespace: 'apps', name: 'web-tls' };
    const cfg = testConfig(tmp.dir, { components: [component], caOutage: { ca, endpoints: [{ name: 'web', address: 'a:1' }, { name: 'ingress', certificate: crt }], trustStores: ['/x.pem'] } });
    assert.equal(cfg.caOutage?.endpoints[1].certificate?.reportTimeoutSeconds, 120);
    assert.deepEqual(caOutage.input(cfg, {}).certificateEndpoints, ['ingress']);
    assert.match(
      problems({ ca, endpoints: [{ name: 'web', address: 'a:1', certificate: crt }], trustStores: ['/x.pem'] }),
      /caOutage\.endpoints\[0\]: endpoint "web" needs exactly one of address \(host:port of a TLS service\) or certificate/,
    );
    assert.match(problems({ ca, endpoints: [{ name: 'web' }, { name: 'db', address: 'b:1' }], trustStores: ['/x.pem'] }), /caOutage\.endpoints\[0\]: endpoint "web" needs exactly one of address/);
    assert.match(
      problems({ ca, endpoints: [{ name: 'ingress', certificate: crt, renewal: { certFile: '/c', keyFile: '/k' } }], probeNames: ['x'], trustStores: ['/x.pem'] }),
      /caOutage\.endpoints\[0\]\.renewal: endpoint "ingress" is a cert-manager Certificate: cert-manager installs its renewals/,
    );
    assert.match(problems({ ca, endpoints: [{ name: 'ingress', certificate: crt }], trustStores: ['/x.pem'] }), /caOutage\.probeNames: every endpoint is a cert-manager Certificate: list the names/);
    assert.equal(problems({ ca, endpoints: [{ name: 'ingress', certificate: crt }], probeNames: ['web.secdr.test'], trustStores: ['/x.pem'] }), '');
  });

  it('the drill input refuses a CA component that is not configured, listing the ones that are', () => {
    const cfg = testConfig(tmp.dir, { components: [component], caOutage: { ca: { ...ca, component: 'pki' }, endpoints: [{ name: 'web', address: 'a:1' }], trustStores: ['/x.pem'] } });
    assert.throws(() => caOutage.input(cfg, {}), /caOutage\.ca\.component: no component named "pki" \(configured: ca\); add it under components:/);
    assert.throws(() => caOutage.input(testConfig(tmp.dir), {}), /the config has no caOutage section/);
    const ok = testConfig(tmp.dir, { components: [component], caOutage: { ca, endpoints: [{ name: 'web', address: 'a:1', renewal: { certFile: '/c', keyFile: '/k' } }, { name: 'db', address: 'b:1' }], trustStores: ['/x.pem'] } });
    assert.deepEqual(caOutage.input(ok, { holdSeconds: '5' }), {
      caComponent: 'ca',
      caLabel: 'cfssl http://127.0.0.1:8888',
      renewableEndpoints: ['web'],
      certificateEndpoints: [],
      outageWindowSeconds: 86_400,
      renewalMarginSeconds: 86_400,
      renewalSloSeconds: 300,
      holdSeconds: 5,
    });
    assert.throws(() => caOutage.input(ok, { holdSeconds: 'soon' }), /--hold-seconds soon: give a whole number of seconds/);
  });

  it('asks for a Schedule only when caOutage.schedule is set', () => {
    const section = { ca, endpoints: [{ name: 'web', address: 'a:1' }], trustStores: ['/x.pem'] };
    assert.deepEqual(caOutage.schedules!(testConfig(tmp.dir, { components: [component], caOutage: section })), []);
    const [s] = caOutage.schedules!(testConfig(tmp.dir, { components: [component], caOutage: { ...section, schedule: '0 5 1 */3 *' } }));
    assert.equal(s.scheduleId, 'secdr-drill-ca-outage');
    assert.equal(s.cron, '0 5 1 */3 *');
    assert.equal(s.input.caComponent, 'ca');
  });
});
