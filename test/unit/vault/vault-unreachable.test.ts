import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import { createServer as createNetServer, type Server as NetServer, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { freePort } from '../../../dev-stack/ports';
import { vaultApi, vaultFailure } from '../../../lib/vault/client';
import { findActiveNode, nodeHealth } from '../../../lib/vault/health';
import { tempDir } from '../../harness/temp';

describe('an unreachable Vault says why: DNS, refused, timeout or TLS (real sockets)', () => {
  const tmp = tempDir('unreachable');
  let tls: HttpsServer;
  let silent: NetServer;
  const held: Socket[] = [];
  let tlsAddress: string;
  let silentAddress: string;

  before(async () => {
    // A certificate no CA vouches for: a self-signed one, made with openssl (argv, no shell).
    const [key, cert] = [join(tmp.dir, 'key.pem'), join(tmp.dir, 'cert.pem')];
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'], { stdio: 'ignore' });
    tls = createHttpsServer({ key: readFileSync(key), cert: readFileSync(cert) }, (_req, res) => res.end('{}'));
    await new Promise<void>((ok) => tls.listen(0, '127.0.0.1', ok));
    tlsAddress = `https://127.0.0.1:${(tls.address() as AddressInfo).port}`;
    // Accepts connections and never answers: a hung node or a black-holing middlebox.
    silent = createNetServer((s) => void held.push(s));
    await new Promise<void>((ok) => silent.listen(0, '127.0.0.1', ok));
    silentAddress = `http://127.0.0.1:${(silent.address() as AddressInfo).port}`;
  });
  after(async () => {
    held.forEach((s) => s.destroy());
    await new Promise((ok) => tls.close(ok));
    await new Promise((ok) => silent.close(ok));
    tmp.cleanup();
  });

  it('a host name that does not resolve is a DNS failure naming the host', async () => {
    const h = await nodeHealth('http://vault-0.secdr-test.invalid:8200', undefined, 5000);
    assert.equal(h.state, 'unreachable');
    assert.equal(h.unreachable, 'dns');
    assert.match(h.error!, /^http:\/\/vault-0\.secdr-test\.invalid:8200: the host name does not resolve \(DNS E[A-Z_]+\); check the address .* for vault-0\.secdr-test\.invalid$/);
  });

  it('a closed port is a refused connection saying nothing listens there', async () => {
    const address = `http://127.0.0.1:${await freePort()}`;
    const h = await nodeHealth(address);
    assert.equal(h.unreachable, 'refused');
    assert.equal(h.error, `${address}: connection refused (ECONNREFUSED): nothing listens on ${address.slice(7)}; check that Vault is running there and the port is right`);
  });

  it('a listener that never answers is a timeout with the time waited', async () => {
    const h = await nodeHealth(silentAddress, undefined, 300);
    assert.equal(h.unreachable, 'timeout');
    assert.match(h.error!, new RegExp(`^${silentAddress}: no answer within 300 ms \\(timeout\\); check firewalls`));
  });

  it('a certificate from an unknown CA is a TLS problem that points at caFile', async () => {
    const h = await nodeHealth(tlsAddress);
    assert.equal(h.unreachable, 'tls');
    assert.match(h.error!, /TLS certificate problem \((DEPTH_ZERO_SELF_SIGNED_CERT|SELF_SIGNED_CERT_IN_CHAIN|UNABLE_TO_VERIFY_LEAF_SIGNATURE): .*\); set caFile to the CA/);
    // With that certificate as caFile the same server is reachable: the message's fix works.
    assert.notEqual((await nodeHealth(tlsAddress, join(tmp.dir, 'cert.pem'))).state, 'unreachable');
  });

  it("the cluster-level failure lists each node's cause", async () => {
    const refused = `http://127.0.0.1:${await freePort()}`;
    await assert.rejects(findActiveNode('prod', ['http://vault-1.secdr-test.invalid:8200', refused]), (err: Error) => {
      assert.match(err.message, /cluster prod: no active node \(.*the host name does not resolve.*; .*connection refused \(ECONNREFUSED\)/);
      return true;
    });
  });

  it('the Vault API client (node-vault) gets the same causes, typed VaultUnreachable', async () => {
    const address = `http://127.0.0.1:${await freePort()}`;
    const err = await vaultApi(address).read('sys/mounts').then(
      () => assert.fail('expected a refused connection'),
      (e: unknown) => vaultFailure(e, 'target dr: reading mounts', 'sys/mounts', undefined, address),
    );
    assert.equal((err as { type?: string }).type, 'VaultUnreachable');
    assert.match(err.message, new RegExp(`^target dr: reading mounts: ${address}: connection refused \\(ECONNREFUSED\\)`));
    const tlsErr = await vaultApi(tlsAddress).read('sys/mounts').then(
      () => assert.fail('expected a TLS failure'),
      (e: unknown) => vaultFailure(e, 'login', 'auth/approle/login', undefined, tlsAddress),
    );
    assert.match(tlsErr.message, /TLS certificate problem/);
  });
});
