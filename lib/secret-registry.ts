/**
 * Values this process knows to be secret (credentials read from secretRefs, tokens it
 * logged in with, local-stack keys and passwords) and the codec keys it loaded.
 *
 * Nothing reads this in production. The test harness's secret scan
 * (test/harness/secret-scan.ts) searches every decoded workflow history, worker log and
 * report for these values after each integration test, so noting a value here is how a
 * leak of it becomes a failing test. Values shorter than 8 characters are ignored: they
 * would match by accident and are not credentials.
 */
const secrets = new Map<string, string>();
const codecKeys = new Map<string, { keyId: string; key: Buffer }>();

export function noteSecret(value: string | undefined, what: string): void {
  const v = value?.trim();
  if (v && v.length >= 8 && !secrets.has(v)) secrets.set(v, what);
}

/** Drops a value (a test that leaks one on purpose removes it once the scan has caught it). */
export function forgetSecret(value: string): void {
  secrets.delete(value.trim());
}

/** Every noted secret and what it is (the description, never the value, goes into messages). */
export function knownSecrets(): ReadonlyMap<string, string> {
  return secrets;
}

/** Notes a loaded codec key: the key itself is a secret, and the scan decodes histories with it. */
export function noteCodecKey(keyId: string, key: Buffer): void {
  const id = `${keyId}:${key.toString('base64')}`;
  if (codecKeys.has(id)) return;
  codecKeys.set(id, { keyId, key });
  noteSecret(key.toString('base64'), `codec key ${keyId}`);
  noteSecret(key.toString('hex'), `codec key ${keyId} (hex)`);
}

export function knownCodecKeys(): { keyId: string; key: Buffer }[] {
  return [...codecKeys.values()];
}
