import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { requireBinary } from '../../../dev-stack/paths';
import { certificateInfo } from '../../../lib/pki/certificate-info';
import { verifyChain } from '../../../lib/pki/chain';
import { formatDuration, headroom } from '../../../lib/pki/headroom';
import { fingerprint, parsePemCertificates, readBundle } from '../../../lib/pki/pem';
import { tempDir } from '../../harness/temp';

/** Real certificates from the real cfssl binary (no hand-made fixtures): two roots, an intermediate, leaves. */
describe('certificate chains, inventory fields and headroom (lib/pki)', () => {
  const tmp = tempDir('pki-unit');
  const certs: Record<string, { cert: string; key: string }> = {};
  let cfssl: string;

  const gen = (args: string[], csr: object, file: string) => {
    writeFileSync(join(tmp.dir, file), JSON.stringify(csr));
    return JSON.parse(execFileSync(cfssl, [...args, join(tmp.dir, file)]).toString()) as { cert: string; key: string };
  };
  const signed = (caName: string, profile: string, csr: object, name: string) => {
    const ca = certs[caName];
    writeFileSync(join(tmp.dir, `${caName}.pem`), ca.cert);
    writeFileSync(join(tmp.dir, `${caName}-key.pem`), ca.key);
    certs[name] = gen(['gencert', '-ca', join(tmp.dir, `${caName}.pem`), '-ca-key', join(tmp.dir, `${caName}-key.pem`), '-config', join(tmp.dir, 'cfg.json'), '-profile', profile], csr, `${name}-csr.json`);
  };
  const x = (name: string) => new X509Certificate(certs[name].cert);

  before(() => {
    cfssl = requireBinary('cfssl');
    const usages = ['signing', 'key encipherment', 'server auth'];
    writeFileSync(
      join(tmp.dir, 'cfg.json'),
      JSON.stringify({ signing: { profiles: { leaf: { expiry: '2h', usages }, ca: { expiry: '8760h', usages: ['cert sign', 'crl sign'], ca_constraint: { is_ca: true, max_path_len: 0, max_path_len_zero: true } } } } }),
    );
    const key = { algo: 'ecdsa', size: 256 };
    certs.rootA = gen(['gencert', '-initca'], { CN: 'root A', key }, 'root-a.json');
    certs.rootB = gen(['gencert', '-initca'], { CN: 'root B', key }, 'root-b.json');
    signed('rootA', 'ca', { CN: 'intermediate A', key }, 'intA');
    signed('intA', 'leaf', { CN: 'web.secdr.test', hosts: ['web.secdr.test', '127.0.0.1'], key }, 'leaf');
  });
  after(() => tmp.cleanup());

  it('verifies leaf → intermediate → trusted root and names the root', () => {
    const r = verifyChain([x('leaf'), x('intA')], [x('rootB'), x('rootA')], new Date());
    assert.ok(r.ok);
    assert.equal(r.rootFingerprint, fingerprint(x('rootA')));
  });

  it('fails when the intermediate is not served, saying which certificate has no issuer', () => {
    const r = verifyChain([x('leaf')], [x('rootA')], new Date());
    assert.equal(r.ok, false);
    assert.match(!r.ok ? r.reason : '', /"CN=web\.secdr\.test" is not issued by any served intermediate nor by a trusted root \(issuer "CN=intermediate A"\)/);
  });

  it('fails against a different root (a rebuilt CA), and when a certificate has expired at the given time', () => {
    assert.equal(verifyChain([x('leaf'), x('intA')], [x('rootB')], new Date()).ok, false);
    const later = new Date(Date.now() + 3 * 3600_000);
    const r = verifyChain([x('leaf'), x('intA')], [x('rootA')], later);
    assert.equal(r.ok, false);
    assert.match(!r.ok ? r.reason : '', /"CN=web\.secdr\.test" expired at /);
  });

  it('reads inventory fields: subject, SANs, serial, issuer, validity', () => {
    const info = certificateInfo(x('leaf'));
    assert.equal(info.subject, 'CN=web.secdr.test');
    assert.deepEqual(info.sans.sort(), ['DNS:web.secdr.test', 'IP Address:127.0.0.1']);
    assert.equal(info.issuer, 'CN=intermediate A');
    assert.match(info.serial, /^[0-9A-F]+$/);
    assert.ok(Date.parse(info.notAfter) - Date.parse(info.notBefore) >= 2 * 3600_000);
  });

  it('reads bundles and refuses empty or missing ones naming the field and file', () => {
    const bundle = join(tmp.dir, 'bundle.pem');
    writeFileSync(bundle, `${certs.rootA.cert}\n${certs.rootB.cert}`);
    assert.equal(parsePemCertificates(`${certs.leaf.cert}${certs.intA.cert}`).length, 2);
    assert.deepEqual(readBundle(bundle, 'caOutage.trustStores[0]').map(fingerprint), [fingerprint(x('rootA')), fingerprint(x('rootB'))]);
    const empty = join(tmp.dir, 'empty.pem');
    writeFileSync(empty, 'not a certificate\n');
    assert.throws(() => readBundle(empty, 'caOutage.trustStores[1]'), /caOutage\.trustStores\[1\] .*empty\.pem: no PEM certificate in the bundle; put the CA root/);
    assert.throws(() => readBundle(join(tmp.dir, 'nope.pem'), 'caOutage.trustStores[2]'), /cannot read the trust-store bundle \(ENOENT\); fix the path/);
  });

  it('headroom: validity left minus outage window minus renewal margin; short when negative', () => {
    const now = new Date('2026-11-29T00:00:00Z');
    const inTwoDays = new Date('2026-12-01T00:00:00Z');
    assert.deepEqual(headroom(inTwoDays, now, 86_400, 3600), { remainingSeconds: 172_800, headroomSeconds: 82_800, short: false });
    assert.deepEqual(headroom(inTwoDays, now, 86_400, 90_000), { remainingSeconds: 172_800, headroomSeconds: -3600, short: true });
    assert.equal(formatDuration(172_800), '2d 0h');
    assert.equal(formatDuration(-3725), '-1h 2m');
    assert.equal(formatDuration(65), '1m 5s');
  });
});
