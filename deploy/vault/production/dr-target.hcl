# The DR / weekly test-restore target: one raft node in the other region, TLS, and a seal that
# reaches a copy of the source's seal key there (the replica of the multi-region KMS key, or the
# replica transit server). Start it with the matching seal file, pointed at the replica:
#
#   bao server -config=dr-target.hcl -config=seal-awskms.hcl   (region + kms_key_id of the replica)
#
# secdr restores into it (fresh, or over its own earlier restore with the restorer AppRole from the
# source's data) and afterwards seals it (restore.targets[].after: seal), so no live copy of
# production stays up between weekly runs; the next run restarts it (component: its systemd unit or
# StatefulSet) and auto-unseal brings it back.

disable_mlock = true

api_addr     = "https://vault-dr.vault.internal:8200"
cluster_addr = "https://vault-dr.vault.internal:8201"

storage "raft" {
  path    = "/var/lib/openbao/raft"
  node_id = "vault-dr-0"
}

listener "tcp" {
  address         = "0.0.0.0:8200"
  cluster_address = "0.0.0.0:8201"
  tls_cert_file   = "/etc/openbao/tls/node.pem"
  tls_key_file    = "/etc/openbao/tls/node-key.pem"
  tls_min_version = "tls12"

  telemetry {
    unauthenticated_metrics_access = true
  }
}

telemetry {
  prometheus_retention_time = "30s"
  disable_hostname          = true
}
