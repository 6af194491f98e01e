import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';

/** Files the control plane needs, made fresh for each stack: nothing long-lived, nothing shared. */
export interface ControlPlaneFiles {
  caFile: string;
  certFile: string;
  keyFile: string;
  serviceAccountKey: string;
  serviceAccountPub: string;
  tokenFile: string;
}

function openssl(args: string[]): void {
  execFileSync('openssl', args, { stdio: ['ignore', 'ignore', 'pipe'] });
}

/** A throwaway CA, a serving certificate for 127.0.0.1 signed by it, the service-account key pair and the token file. */
export function makeControlPlaneFiles(dir: string, adminToken: string): ControlPlaneFiles {
  const f = (name: string) => join(dir, name);
  openssl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', f('ca.key'), '-out', f('ca.crt'), '-days', '2', '-subj', '/CN=secdr-test-ca']);
  openssl(['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', f('apiserver.key'), '-out', f('apiserver.csr'), '-subj', '/CN=kube-apiserver']);
  writeFileSync(
    f('apiserver.ext'),
    'subjectAltName=IP:127.0.0.1,IP:10.0.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc\n',
  );
  openssl(['x509', '-req', '-in', f('apiserver.csr'), '-CA', f('ca.crt'), '-CAkey', f('ca.key'), '-CAcreateserial', '-out', f('apiserver.crt'), '-days', '2', '-extfile', f('apiserver.ext')]);
  openssl(['genrsa', '-out', f('sa.key'), '2048']);
  openssl(['rsa', '-in', f('sa.key'), '-pubout', '-out', f('sa.pub')]);
  // token,user,uid,"groups": the harness's admin; tests make their own ServiceAccounts for least privilege.
  writeFileSync(f('tokens.csv'), `${adminToken},secdr-admin,secdr-admin,"system:masters"\n`, { mode: 0o600 });
  return {
    caFile: f('ca.crt'),
    certFile: f('apiserver.crt'),
    keyFile: f('apiserver.key'),
    serviceAccountKey: f('sa.key'),
    serviceAccountPub: f('sa.pub'),
    tokenFile: f('tokens.csv'),
  };
}

/** Writes a kubeconfig with one context (`context`, default "secdr-test") authenticating with a bearer token. */
export function writeKubeconfig(path: string, opts: { server: string; caFile: string; token: string; user?: string; context?: string; namespace?: string }): string {
  const context = opts.context ?? 'secdr-test';
  const user = opts.user ?? 'secdr-admin';
  const doc = {
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: 'secdr-test', cluster: { server: opts.server, 'certificate-authority': opts.caFile } }],
    users: [{ name: user, user: { token: opts.token } }],
    contexts: [{ name: context, context: { cluster: 'secdr-test', user, ...(opts.namespace ? { namespace: opts.namespace } : {}) } }],
    'current-context': context,
  };
  writeFileSync(path, stringify(doc), { mode: 0o600 });
  return path;
}
