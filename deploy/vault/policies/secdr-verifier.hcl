# secdr restore verifier: exists in the source's data, so it exists in every
# restore. Reads the canary, issues one dynamic database credential and revokes it.

path "secret/data/secdr/canary" {
  capabilities = ["read"]
}

# Adjust to restore.targets[].database.{mount,role}.
path "database/creds/readonly" {
  capabilities = ["read"]
}

# Revoke the credential it just issued, and nothing else: the lease id goes in the
# URL (PUT sys/leases/revoke/<lease_id>), and lease ids start with the path that issued
# them, so this grants revoking leases of database/creds/readonly only. The body form
# (sys/leases/revoke with lease_id) is deliberately not granted: it would cover every lease.
# Adjust with the role above.
path "sys/leases/revoke/database/creds/readonly/*" {
  capabilities = ["update"]
}
