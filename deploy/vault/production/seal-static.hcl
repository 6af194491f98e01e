# Lab and test override, not for production: auto-unseal with a 32-byte AES key read from a file.
# secdr's tests start the 3-node cluster from openbao.hcl with this file in place of
# seal-awskms.hcl (dev-stack/openbao-cluster.ts; README.md here, "Testing this shape"), so the
# node config they run is the one users deploy and only the seal differs. Every node of a cluster
# and its DR target must share the key and its id: a restored keyring is sealed under it.
seal "static" {
  current_key_id = "secdr-static-1"
  current_key    = "file:///etc/openbao/seal/static.key"
}
