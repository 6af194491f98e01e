# Transit variant: auto-unseal through the transit engine of a separate Vault/OpenBao (the KMS).
# The token (policy: update on transit/encrypt/<key> and transit/decrypt/<key>, nothing else)
# comes from BAO_TOKEN/VAULT_TOKEN in the service's environment, never from this file.
# For DR, keep a replica of the key on a second transit server in another region
# (transit/backup → transit/restore; the key needs exportable and allow_plaintext_backup),
# and point the DR target's seal at it (dr-target.hcl). secdr's restore.targets[].kms names
# this address so an unreachable KMS fails the restore at once (SealKmsUnavailable).
seal "transit" {
  address         = "https://kms-a.vault.internal:8200"
  key_name        = "secdr-unseal"
  mount_path      = "transit/"
  tls_ca_cert     = "/etc/openbao/tls/kms-ca.pem"
  disable_renewal = "false"
}
