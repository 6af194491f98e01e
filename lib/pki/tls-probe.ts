import { X509Certificate } from 'node:crypto';
import { isIP } from 'node:net';
import { connect, type PeerCertificate, type DetailedPeerCertificate } from 'node:tls';
import { invalidInput } from '../failure-types';

export type TlsProbeResult =
  | { ok: true; chain: X509Certificate[] }
  | { ok: false; kind: 'refused' | 'timeout' | 'not-tls'; reason: string };

/**
 * Completes a TLS handshake with `host:port` and returns the chain the server sent (leaf
 * first). Verification is ours (lib/pki/chain.ts), against the recorded root, so the
 * handshake itself accepts any certificate. Never hangs longer than `timeoutMs`.
 */
export function probeTls(address: string, serverName: string | undefined, timeoutMs: number): Promise<TlsProbeResult> {
  const { host, port } = splitHostPort(address);
  const sni = serverName ?? (isIP(host) ? undefined : host);
  return new Promise((resolve) => {
    let settled = false;
    const done = (r: TlsProbeResult) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      resolve(r);
    };
    const socket = connect({ host, port, servername: sni, rejectUnauthorized: false }, () => {
      done({ ok: true, chain: peerChain(socket.getPeerCertificate(true)) });
    });
    const timer = setTimeout(() => done({ ok: false, kind: 'timeout', reason: `no TLS handshake within ${timeoutMs} ms` }), timeoutMs);
    socket.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'ECONNREFUSED') done({ ok: false, kind: 'refused', reason: `connection refused (${err.code})` });
      else if (err.code === 'ETIMEDOUT' || err.code === 'EHOSTUNREACH') done({ ok: false, kind: 'timeout', reason: err.message });
      // OpenSSL's `reason` ("wrong version number") reads better than its full error string.
      else done({ ok: false, kind: 'not-tls', reason: `the TLS handshake failed: ${(err as { reason?: string }).reason ?? err.message}` });
    });
    // A plain-TCP server that closes or never speaks TLS ends here without an error.
    socket.on('close', () => done({ ok: false, kind: 'not-tls', reason: 'the connection closed before a TLS handshake completed' }));
  });
}

export function splitHostPort(address: string): { host: string; port: number } {
  const m = /^\[?([^\]]+?)\]?:(\d+)$/.exec(address);
  if (!m) throw invalidInput(`"${address}" is not host:port; write it as host:port, e.g. vault.example.com:443`);
  return { host: m[1], port: Number(m[2]) };
}

function peerChain(leaf: DetailedPeerCertificate): X509Certificate[] {
  const chain: X509Certificate[] = [];
  const seen = new Set<string>();
  let cert: PeerCertificate | DetailedPeerCertificate | undefined = leaf;
  while (cert?.raw && !seen.has(cert.fingerprint256)) {
    seen.add(cert.fingerprint256);
    chain.push(new X509Certificate(cert.raw));
    cert = (cert as DetailedPeerCertificate).issuerCertificate;
  }
  return chain;
}
