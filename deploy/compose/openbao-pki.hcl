# OpenBao for the local compose stack (docker-compose.yml, service pki): the CA the CA-outage drill
# stops and brings back (docs/runbooks/ca-outage.md). One raft node, auto-unsealed by the `static`
# seal, so a restart comes back unsealed by itself. deploy/compose/pki-init.sh sets up its PKI
# engines. Not a production configuration: TLS is off because the API is only reachable on the
# compose network and on 127.0.0.1 of the host.

# Raft keeps its data in a memory-mapped BoltDB, which mlock would pin entirely; the container
# also has no IPC_LOCK capability.
disable_mlock = true

api_addr     = "http://pki:8200"
cluster_addr = "https://pki:8201"

storage "raft" {
  path    = "/openbao/file"
  node_id = "pki-0"
}

listener "tcp" {
  address         = "0.0.0.0:8200"
  cluster_address = "0.0.0.0:8201"
  tls_disable     = true
}

# Its own key id: the CA shares nothing with the snapshot source or the DR target.
seal "static" {
  current_key_id = "secdr-compose-pki-1"
  current_key    = "file:///run/secrets/pki-seal-key"
}
