const KEY_ARN = /^arn:aws[a-z-]*:kms:([^:]*):([^:]*):key\/(.+)$/;
const ALIAS = /^(alias\/|arn:aws[a-z-]*:kms:[^:]*:[^:]*:alias\/)/;

/** True for `alias/name` and alias ARNs: S3 reports the key behind an alias, which only KMS can resolve. */
export const isKmsAlias = (id: string): boolean => ALIAS.test(id);

/**
 * Whether the KMS key S3 reports on read-back is the configured one. S3 answers with the
 * key ARN while the config may hold the bare key id (moto echoes whatever was sent), so a
 * key id matches an ARN ending in `key/<id>`; two ARNs must be equal (region and account too).
 */
export function sameKmsKey(configured: string, returned: string | undefined): boolean {
  if (!returned) return false;
  if (configured === returned) return true;
  const c = KEY_ARN.exec(configured);
  const r = KEY_ARN.exec(returned);
  if (c && r) return false;
  return (c?.[3] ?? configured) === (r?.[3] ?? returned);
}
