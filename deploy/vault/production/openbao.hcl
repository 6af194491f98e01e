# Production shape of the source cluster: one of three raft nodes (vault-0, vault-1, vault-2),
# TLS everywhere, auto-unseal from a separate seal file:
#
#   bao server -config=openbao.hcl -config=seal-awskms.hcl      # AWS KMS (default)
#   bao server -config=openbao.hcl -config=seal-transit.hcl     # transit seal on another Vault/OpenBao
#
# Per node, change node_id, api_addr and cluster_addr (or template them with your config management).
# secdr's snapshot worker talks to every node's API address (clusters[].nodes) and takes the
# snapshot from the active one; a standby answers 307/429.

# Raft's BoltDB is memory-mapped; mlock would pin all of it.
disable_mlock = true

api_addr     = "https://vault-0.vault.internal:8200"
cluster_addr = "https://vault-0.vault.internal:8201"
ui           = false

storage "raft" {
  path    = "/var/lib/openbao/raft"
  node_id = "vault-0"

  # Every node lists every node: a restarted or replaced node finds the leader by itself.
  retry_join {
    leader_api_addr         = "https://vault-0.vault.internal:8200"
    leader_ca_cert_file     = "/etc/openbao/tls/ca.pem"
    leader_client_cert_file = "/etc/openbao/tls/node.pem"
    leader_client_key_file  = "/etc/openbao/tls/node-key.pem"
  }
  retry_join {
    leader_api_addr         = "https://vault-1.vault.internal:8200"
    leader_ca_cert_file     = "/etc/openbao/tls/ca.pem"
    leader_client_cert_file = "/etc/openbao/tls/node.pem"
    leader_client_key_file  = "/etc/openbao/tls/node-key.pem"
  }
  retry_join {
    leader_api_addr         = "https://vault-2.vault.internal:8200"
    leader_ca_cert_file     = "/etc/openbao/tls/ca.pem"
    leader_client_cert_file = "/etc/openbao/tls/node.pem"
    leader_client_key_file  = "/etc/openbao/tls/node-key.pem"
  }
}

listener "tcp" {
  address         = "0.0.0.0:8200"
  cluster_address = "0.0.0.0:8201"
  tls_cert_file   = "/etc/openbao/tls/node.pem"
  tls_key_file    = "/etc/openbao/tls/node-key.pem"
  tls_min_version = "tls12"

  # Prometheus reads seal status even while sealed (deploy/prometheus/rules/vault.yml); nothing secret.
  telemetry {
    unauthenticated_metrics_access = true
  }
}

telemetry {
  prometheus_retention_time = "30s"
  disable_hostname          = true
}
