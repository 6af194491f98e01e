# Auto-unseal with AWS KMS. Use a multi-region key (mrk-…) and replicate it to the DR region:
# a restored keyring can only be unsealed where a copy of this key is reachable
# (docs/runbooks/vault-restore.md, "The seal's KMS is down"). Credentials come from the
# instance/pod role, never from this file.
seal "awskms" {
  region     = "eu-west-1"
  kms_key_id = "mrk-1234abcd12ab34cd56ef1234567890ab"
}
